"""Environment resolvers, one module per provider: where a target named by id really lives.

Each implements :class:`interlock.environments.Resolver` from a cache its ``refresh`` fills, so
the decision point stays pure (docs/gateway.md).
"""
