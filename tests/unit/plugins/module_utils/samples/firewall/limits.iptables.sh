# shellcheck shell=bash
# The rules of limits.iptables-*-save, as typed: bash limits.iptables.sh iptables-nft|iptables-legacy
set -e
ipt="$1"
"$ipt" -A INPUT -p tcp --syn --dport 22 -m connlimit --connlimit-above 3 -j REJECT --reject-with tcp-reset
"$ipt" -A INPUT -p tcp --dport 22 -m hashlimit --hashlimit-above 10/min --hashlimit-mode srcip --hashlimit-name ssh -j DROP
"$ipt" -A INPUT -p tcp --dport 22 -m limit --limit 5/min --limit-burst 10 -j ACCEPT
"$ipt" -A INPUT -p tcp --dport 22 -m state --state NEW -m limit --limit 3/min -j REJECT --reject-with tcp-reset
"$ipt" -A INPUT -p tcp -m multiport --dports 2000:3000,ssh -j DROP
"$ipt" -A INPUT -p tcp ! --dport 80 -j REJECT --reject-with tcp-reset
"$ipt" -A INPUT -p tcp -m multiport ! --dports 22,2222 -j DROP
"$ipt" -A INPUT -p tcp --dport ssh -m recent --update --seconds 60 --hitcount 4 --name SSH --rsource -j DROP
"$ipt" -A INPUT -m conntrack --ctstate INVALID,UNTRACKED -j DROP
"$ipt" -A INPUT -p tcp --dport 22 -m conntrack ! --ctstate INVALID -j REJECT --reject-with tcp-reset
"$ipt" -A INPUT -p tcp --dport 1024: -j DROP
"$ipt" -A INPUT -p udp --dport 53 -j DROP
