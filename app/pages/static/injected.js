// The browser's own wallet (EIP-1193 window.ethereum): its account on the programme's chain, signing in it.

import { session } from "./shell.js";

export async function injectedSigner() {
  const ethers = window.ethers;
  const provider = window.ethereum;
  const [address] = await provider.request({ method: "eth_requestAccounts" });
  if (!address) throw new Error("The browser wallet gave no account.");
  const chainHex = await provider.request({ method: "eth_chainId" });
  if (Number(chainHex) !== session.cfg.chain_id) {
    try {
      await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: "0x" + session.cfg.chain_id.toString(16) }] });
    } catch {
      throw new Error(`Your browser wallet is on chain ${Number(chainHex)}; this programme runs on chain ${session.cfg.chain_id}. Switch networks in the wallet and try again.`);
    }
  }
  const checksummed = ethers.getAddress(address);
  return {
    kind: "injected",
    address: checksummed,
    signMessage: (message) => provider.request({ method: "personal_sign", params: [ethers.hexlify(ethers.toUtf8Bytes(message)), checksummed] }),
    // The document from the API is signed exactly as received (eth_signTypedData_v4).
    signTypedData: (doc) => provider.request({ method: "eth_signTypedData_v4", params: [checksummed, JSON.stringify(doc)] }),
  };
}
