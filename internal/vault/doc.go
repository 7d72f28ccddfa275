// Package vault is Accord's tokenization vault: it replaces a PII value with a token
// that is the same for the same value under the same (data controller, data subject),
// different and unlinkable under another controller, and dead forever once the
// subject is forgotten.
//
// The design follows Shopify's "Schematizing Deletion at Scale": every (controller,
// subject) pair gets its own random 32-byte key; a token is a MAC of the value under
// that key (the AES-SIV synthetic IV, RFC 5297), tagged with the key's id, encrypted
// under a secret of the vault so that the token reveals neither the id nor which tokens
// share a key, from which Detokenize finds the key; the value is stored encrypted under
// the same key (the AES-SIV ciphertext). Forgetting a subject destroys its keys (and
// the encrypted values), so every token already written to a warehouse becomes an
// opaque string that nobody can resolve or re-derive, and nothing in the warehouse has
// to be rewritten.
//
// A Vault works on a Store: the embedded bbolt store (OpenBolt, the default) or the
// Postgres store (OpenPostgres) for several processes sharing one vault. Both pass the
// conformance suite in package vaulttest. docs/vault.md describes the token format,
// the threat model and how fast a forget reaches other processes.
package vault
