"""Off-chain consent receipts (ISO/IEC TS 27560 fields) whose hashes are recorded on chain."""
