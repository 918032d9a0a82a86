#!/usr/bin/env python3
"""Writes the hostile minisign files under bad-sig/ and bad-key/ from the
good vectors beside this script (made with Debian's minisign 0.11, see
README.md). Each directory's expect.txt maps a file to the substring its
error message must contain; tests/minisign_vectors_test.cc drives them."""
import base64, hashlib, os

here = os.path.dirname(os.path.abspath(__file__))
def rd(n): return open(os.path.join(here, n), 'rb').read()
good = rd('message.txt.ED.minisig').split(b'\n')[:4]
u, s, t, g = good
sig = base64.b64decode(s)
glob = base64.b64decode(g)
b64 = lambda b: base64.b64encode(b)

def noncanonical(line):
    # Flip a padding bit in the last character before '=': decoders that
    # ignore padding bits accept it, canonical ones do not.
    alphabet = b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
    stripped = line.rstrip(b'=')
    i = alphabet.index(stripped[-1:])
    return stripped[:-1] + alphabet[i ^ 1:(i ^ 1) + 1] + line[len(stripped):]

sigs = {
    'empty': (b'', 'expected 4 lines, found 0'),
    'three_lines': (b'\n'.join([u, s, t]) + b'\n', 'expected 4 lines, found 3'),
    'trailing_line': (b'\n'.join([u, s, t, g, b'extra']) + b'\n', 'expected 4 lines, found 5'),
    'trailing_empty_line': (b'\n'.join([u, s, t, g, b'']) + b'\n', 'expected 4 lines, found 5'),
    'no_untrusted_prefix': (b'\n'.join([b'comment: x', s, t, g]) + b'\n', 'line 1 does not start with'),
    'sig_bad_char': (b'\n'.join([u, b'*' + s[1:], t, g]) + b'\n', 'line 2 is not the base64'),
    'sig_short': (b'\n'.join([u, b64(sig[:73]), t, g]) + b'\n', 'line 2 is not the base64'),
    'sig_long': (b'\n'.join([u, b64(sig + b'\0'), t, g]) + b'\n', 'line 2 is not the base64'),
    'sig_unpadded': (b'\n'.join([u, s.rstrip(b'='), t, g]) + b'\n', 'line 2 is not the base64'),
    'sig_noncanonical': (b'\n'.join([u, noncanonical(s), t, g]) + b'\n', 'line 2 is not the base64'),
    'sig_trailing_space': (b'\n'.join([u, s + b' ', t, g]) + b'\n', 'line 2 is not the base64'),
    'sig_alg_unknown': (b'\n'.join([u, b64(b'Ex' + sig[2:]), t, g]) + b'\n', 'unsupported signature algorithm "Ex"'),
    'no_trusted_prefix': (b'\n'.join([u, s, b'trusted: x', g]) + b'\n', 'line 3 does not start with'),
    'trusted_comment_too_long': (b'\n'.join([u, s, b'trusted comment: ' + b'x' * 8174, g]) + b'\n',
                                 "over minisign's limit"),
    'trusted_comment_cr': (b'\n'.join([u, s, t + b'\rx', g]) + b'\n', 'line break or NUL'),
    'untrusted_comment_too_long': (b'\n'.join([b'untrusted comment: ' + b'y' * 1004, s, t, g]) + b'\n',
                                   "over minisign's limit"),
    'global_bad_char': (b'\n'.join([u, s, t, g[:-3] + b'!==']) + b'\n', 'line 4 is not the base64'),
    'global_short': (b'\n'.join([u, s, t, b64(glob[:63])]) + b'\n', 'line 4 is not the base64'),
    'global_missing': (b'\n'.join([u, s, t, b'']) + b'\n', 'line 4 is not the base64'),
    'nul_byte': (b'\n'.join([u, s, t + b'\0', g]) + b'\n', 'NUL byte'),
}

keytxt = rd('key.key').split(b'\n')[:2]
sk = bytearray(base64.b64decode(keytxt[1]))
pub = rd('key.pub').split(b'\n')[:2]
pk = base64.b64decode(pub[1])

def sk_file(b): return keytxt[0] + b'\n' + b64(bytes(b)) + b'\n'
def patched(off, val, base=None):
    b = bytearray(sk if base is None else base); b[off:off + len(val)] = val; return b
def chk(b):
    return hashlib.blake2b(bytes(b[0:2]) + bytes(b[54:62]) + bytes(b[62:126]), digest_size=32).digest()
with_bad_chk = patched(126, b'\x01' * 32)
pk_half_flipped = patched(62 + 32, bytes([sk[62 + 32] ^ 1]))
bad_chk_kdf_ok = patched(126, chk(pk_half_flipped), pk_half_flipped)
keys = {
    'sk_sig_alg.key': (sk_file(patched(0, b'EX')), 'unsupported signature algorithm "EX"'),
    'sk_kdf_alg.key': (sk_file(patched(2, b'Ar')), 'unsupported key derivation "Ar"'),
    'sk_chk_alg.key': (sk_file(patched(4, b'B3')), 'unsupported checksum algorithm "B3"'),
    'sk_truncated.key': (sk_file(sk[:157]), 'is not the base64 of a 158-byte'),
    'sk_one_line.key': (keytxt[0] + b'\n', 'expected 2 lines'),
    'sk_no_comment.key': (b'comment\n' + keytxt[1] + b'\n', 'line 1 does not start with'),
    'sk_bad_checksum.key': (sk_file(with_bad_chk), 'checksum mismatch'),
    'sk_pk_mismatch.key': (sk_file(pk_half_flipped), 'does not match its seed'),
    'sk_pk_mismatch_chk.key': (sk_file(bad_chk_kdf_ok), 'does not match its seed'),
    'sk_huge_scrypt.key': (sk_file(patched(2, b'Sc') [:38] + (2**40).to_bytes(8, 'little') + bytes(sk[46:])),
                           'scrypt limits out of range'),
    'pk_alg.pub': (pub[0] + b'\n' + b64(b'ED' + pk[2:]) + b'\n', 'unsupported signature algorithm "ED"'),
    'pk_short.pub': (pub[0] + b'\n' + b64(pk[:41]) + b'\n', 'not the base64 of a 42-byte'),
    'pk_three_lines.pub': (pub[0] + b'\n' + pub[1] + b'\nmore\n', 'expected 2 lines'),
    'pk_no_comment.pub': (b'minisign public key\n' + pub[1] + b'\n', 'line 1 does not start with'),
}

for d, table in (('bad-sig', {k + '.minisig': v for k, v in sigs.items()}), ('bad-key', keys)):
    os.makedirs(os.path.join(here, d), exist_ok=True)
    with open(os.path.join(here, d, 'expect.txt'), 'w') as ex:
        for name, (data, msg) in sorted(table.items()):
            open(os.path.join(here, d, name), 'wb').write(data)
            ex.write(f'{name}\t{msg}\n')
