"""What test folders share: driving the outbox in-process, the wallet-signing flow, direct contract
calls on the test chain, and factories (users, loans, issuers and campaigns). A helper used by one
folder stays in that folder; nothing here is imported from a test module."""
