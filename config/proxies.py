"""Where a login comes from behind reverse proxies, for django-axes' lockouts (keyed by username + address).

With N proxies in front of gunicorn, the last proxy's address is REMOTE_ADDR and the client's address is the
N-th entry from the right of X-Forwarded-For: each proxy appends the address it saw, so the entries to the
left of those are whatever the client sent and can be forged. django-ipware (django-axes[ipware]) reads the
header only when its settings say so; in ipware's terms the trusted hops listed in the header are N - 1, and
non-strict mode takes the entry after them even when a client prepended its own. Without ipware, or with
N = 0, axes keys every login by REMOTE_ADDR, which behind a proxy is the proxy: anyone could then lock any
user out with five wrong passwords, from anywhere.
"""


def axes_ip_settings(proxies: int) -> dict:
    """The django-axes/ipware settings for `proxies` reverse proxies in front of the app (0: none)."""
    if proxies <= 0:
        return {"AXES_IPWARE_META_PRECEDENCE_ORDER": ("REMOTE_ADDR",), "AXES_IPWARE_PROXY_COUNT": None}
    return {
        "AXES_IPWARE_META_PRECEDENCE_ORDER": ("HTTP_X_FORWARDED_FOR",),
        "AXES_IPWARE_PROXY_COUNT": proxies - 1,
        "AXES_IPWARE_PROXY_ORDER": "left-most",
        "IPWARE_STRICT": False,
    }
