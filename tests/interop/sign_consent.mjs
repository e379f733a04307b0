// A standard client signs a consent: the API's typed data, exactly as JSON.parse gives it, signed by ethers v6.
// Usage: node sign_consent.mjs <api base url> <session token> <private key> <typed-data request as JSON>
// Prints the API's answer to the relayed signature (JSON) on stdout; exits 1 with the reason otherwise.
import { Wallet } from "ethers";

const [base, token, key, request] = process.argv.slice(2);
const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };

async function post(path, body) {
  const response = await fetch(base + path, { method: "POST", headers, body });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${text}`);
  return JSON.parse(text); // as any client reads JSON: no reviver, no rewriting of numbers
}

try {
  const prepared = await post("/consents/typed-data", request);
  const { domain, types, message } = prepared.typed_data;
  const { EIP712Domain, ...messageTypes } = types; // ethers derives the domain's type itself
  const signature = await new Wallet(key).signTypedData(domain, messageTypes, message);
  const relayed = await post("/consents", JSON.stringify({ request_id: prepared.request_id, signature }));
  console.log(JSON.stringify({ prepared, relayed }));
} catch (error) {
  console.error(error.stack || String(error));
  process.exit(1);
}
