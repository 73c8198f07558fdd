// Builds a credential batch the way a third party would, with OpenZeppelin's own tooling.
//
// stdin:  {"values": [[fingerprint, subject, type_hash, expires_at], ...]}
// stdout: {"root": "0x…", "items": [{"value": [...], "leaf": "0x…", "proof": ["0x…", ...]}, ...]}
//
// Items are in input order; the leaf encoding is CredentialVault's:
// ["bytes32", "address", "bytes32", "uint64"]. Run from the repository root so node_modules resolves.
"use strict";

const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");

const LEAF_ENCODING = ["bytes32", "address", "bytes32", "uint64"];

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (chunk) => chunks.push(chunk));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

function buildTree(values) {
  const tree = StandardMerkleTree.of(values, LEAF_ENCODING);
  return {
    root: tree.root,
    items: values.map((value, i) => ({ value, leaf: tree.leafHash(value), proof: tree.getProof(i) })),
  };
}

readStdin()
  .then((text) => {
    const { values } = JSON.parse(text);
    if (!Array.isArray(values) || values.length === 0) {
      throw new Error('expected {"values": [[fingerprint, subject, type_hash, expires_at], ...]}');
    }
    process.stdout.write(JSON.stringify(buildTree(values)) + "\n");
  })
  .catch((error) => {
    process.stderr.write(`oz_tree.js: ${error.message}\n`);
    process.exit(1);
  });
