/*
 * The fixed secrets the seed corpora were made with (gen_seeds.c), which
 * the targets use to reach what lies behind authentication: the attacker
 * who holds the key.
 */
#ifndef COFFER_FUZZ_SEEDS_H
#define COFFER_FUZZ_SEEDS_H

/* The repository master secret: 32 bytes. */
#define SEED_MASTER_SECRET                                                     \
	"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"     \
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"

/* A machine key and a passphrase that open the seed key files. */
#define SEED_MACHINE_KEY                                                       \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SEED_PASSPHRASE "correct horse battery staple"

#endif
