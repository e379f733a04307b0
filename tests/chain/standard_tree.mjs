// Checks the backend's epoch trees with OpenZeppelin's own StandardMerkleTree (the npm package).
// Input: a JSON file {leafEncoding, values, root, dump, proofs: [{value, proof}], multiproof}.
// Output (stdout): JSON with what the library computes, for the pytest side to compare.
import { readFileSync } from "node:fs";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { leafEncoding, values, root, dump, proofs, multiproof } = input;

const built = values.length ? StandardMerkleTree.of(values, leafEncoding) : null;
const loaded = StandardMerkleTree.load(dump); // validates every node and every value's leaf
const out = {
  ofRoot: built ? built.root : null,
  ofDumpEqual: built ? JSON.stringify(built.dump()) === JSON.stringify(dump) : null,
  loadRoot: loaded.root,
  proofsVerified: proofs.map((p) => StandardMerkleTree.verify(root, leafEncoding, p.value, p.proof)),
  proofsEqualLibrary: built ? proofs.map((p) => JSON.stringify(built.getProof(p.value)) === JSON.stringify(p.proof)) : [],
  loadedProofsVerified: proofs.map((p) => loaded.verify(p.value, p.proof)),
};
if (multiproof) {
  out.multiproofVerified = StandardMerkleTree.verifyMultiProof(root, leafEncoding, multiproof);
  const theirs = built.getMultiProof(multiproof.leaves);
  out.multiproofEqualLibrary = JSON.stringify(theirs) === JSON.stringify(multiproof);
}
process.stdout.write(JSON.stringify(out));
