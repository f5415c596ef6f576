"""The wire: httpx clients for Nomad and Consul, their errors, the event stream, streamed JSON lists.

The clients return decoded JSON; parsing into models is the model layer's (the event stream alone uses
model.wire's coercion for its frame headers).
"""
