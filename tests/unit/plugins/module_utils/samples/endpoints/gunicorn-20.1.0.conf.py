bind = "127.0.0.1:8000"
keepalive = 5
worker_class = "gthread"
