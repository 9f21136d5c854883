"""The client address of a web request, behind a trusted reverse proxy or not."""

from bot.web.clients import client_address, limit_key, networks

PROXY = networks(["127.0.0.1", "10.0.0.0/8"])


def test_a_peer_that_is_no_trusted_proxy_is_the_client_whatever_it_claims():
    assert client_address("198.51.100.4", "203.0.113.9", PROXY) == "198.51.100.4"
    assert client_address("198.51.100.4", "203.0.113.9", ()) == "198.51.100.4"


def test_behind_trusted_proxies_the_last_untrusted_hop_is_the_client():
    assert client_address("127.0.0.1", "203.0.113.9", PROXY) == "203.0.113.9"
    # a client's own X-Forwarded-For comes first, then what each proxy saw
    assert client_address("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3", PROXY) == "203.0.113.9"
    assert client_address("127.0.0.1", "[2001:db8::5]:4711", PROXY) == "2001:db8::5"
    assert client_address("127.0.0.1", "", PROXY) == "127.0.0.1"
    assert client_address("127.0.0.1", "garbage, 203.0.113.9", PROXY) == "203.0.113.9"
    assert client_address("127.0.0.1", "203.0.113.9, garbage", PROXY) == "127.0.0.1"
    assert client_address("::ffff:127.0.0.1", "203.0.113.9", PROXY) == "203.0.113.9"


def test_an_ipv6_limit_counts_the_slash_64():
    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::9")
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("203.0.113.9") == "203.0.113.9"
