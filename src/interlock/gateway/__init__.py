"""The HTTP gateway: agents reach providers through Interlock, never with a real credential.

Modules, in the order a request meets them (docs/gateway.md):

- :mod:`.settings`: ``[gateway]`` in the server's interlock.toml (upstreams, velocity, TTLs);
- :mod:`.http`: the ``/gateway/<upstream>/…`` route and its pipeline;
- :mod:`.resolvers.railway`: which environment a Railway object is in;
- :mod:`.analysis`: the token's environment and operations against the decision;
- :mod:`.velocity`: the per-session budget of denied or destructive attempts;
- :mod:`.alerts`: events that page (environment mismatch, velocity);
- :mod:`.forward`: headers in and out, and the credential struck out of replies.

Importing :mod:`.http` registers the routes with the server (server/app.py does).
"""
