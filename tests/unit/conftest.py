# Unit tests import the collection as ansible_collections.connreset.doctor (the Makefile puts
# .build, which holds the ansible_collections/connreset/doctor symlink, on PYTHONPATH).
