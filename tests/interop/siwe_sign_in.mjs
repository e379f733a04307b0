// A standard client's sign-in: the npm `siwe` package (3.x) writes the EIP-4361 message and an ethers v6
// Wallet signs it (personal_sign). Reads one JSON request on stdin, prints {message, signature}.
//   {privateKey, fields: {...SiweMessage fields}}  or  {privateKey, text} to sign a given text as is.
import { readFileSync } from "node:fs";
import { Wallet } from "ethers";
import { SiweMessage } from "siwe";

const request = JSON.parse(readFileSync(0, "utf8"));
const wallet = new Wallet(request.privateKey);
const message = request.text ?? new SiweMessage({ address: wallet.address, ...request.fields }).prepareMessage();
const signature = await wallet.signMessage(message);
process.stdout.write(JSON.stringify({ message, signature, address: wallet.address }));
