"""The tests' own HTTP to the simulator on 127.0.0.1: httpx's calls and Client, without a TLS context.

httpx's default (verify=True) loads the CA bundle into a new SSL context for every top-level call and
every Client, about 30 ms of CPU each, even for an http:// address: over 500 of them cost the suite about
14 s of CPU. Nothing here speaks TLS, and no proxy from the environment may come between (trust_env).
The console's own clients are the product's (api/http.py), not these."""

from __future__ import annotations

from typing import Any

import httpx

_PLAIN = {"verify": False, "trust_env": False}


def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, url, **_PLAIN, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    return request("GET", url, **kwargs)


def put(url: str, **kwargs: Any) -> httpx.Response:
    return request("PUT", url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return request("POST", url, **kwargs)


def delete(url: str, **kwargs: Any) -> httpx.Response:
    return request("DELETE", url, **kwargs)


def stream(method: str, url: str, **kwargs: Any) -> Any:
    return httpx.stream(method, url, **_PLAIN, **kwargs)


def Client(**kwargs: Any) -> httpx.Client:  # noqa: N802 - stands in for httpx.Client at its call sites
    return httpx.Client(**_PLAIN, **kwargs)
