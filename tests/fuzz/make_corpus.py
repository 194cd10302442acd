#!/usr/bin/env python3
"""Writes the fuzzing seed corpora: small GGUF files (corpus_gguf/) and safetensors files
(corpus_safetensors/) covering every metadata type, nested arrays, both GGUF versions, a custom
alignment and several tensor types. Each seed is far below 64 KiB. Independent of the library's
writer on purpose. Run from anywhere: python3 tests/fuzz/make_corpus.py"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ggml type: (block size, bytes per block)
TYPES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
         10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
         15: (256, 292), 30: (1, 2)}


def s(x):
    b = x.encode() if isinstance(x, str) else x
    return struct.pack('<Q', len(b)) + b


def value(t, v):
    fmt = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}
    if t == 8:
        return s(v)
    if t == 9:
        et, items = v
        out = struct.pack('<IQ', et, len(items))
        return out + b''.join(value(et, i) for i in items)
    return struct.pack('<' + fmt[t], v)


def gguf(kvs, tensors, version=3, align=32):
    out = b'GGUF' + struct.pack('<IQQ', version, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += s(k) + struct.pack('<I', t) + value(t, v)
    off, blobs = 0, []
    for name, ty, ne in tensors:
        bs, ts = TYPES[ty]
        n = 1
        for d in ne:
            n *= d
        nbytes = n // bs * ts
        out += s(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', d) for d in ne)
        out += struct.pack('<IQ', ty, off)
        blob = bytes((i * 7 + 3) % 251 for i in range(nbytes))
        if ty in (2, 3, 6, 7, 8):  # keep the f16 scales finite
            blob = bytearray(blob)
            for b in range(0, nbytes, ts):
                blob[b:b + 2] = b'\x00\x3c'
            blob = bytes(blob)
        pad = (-nbytes) % align
        blobs.append(blob + b'\0' * pad)
        off += nbytes + pad
    out += b'\0' * ((-len(out)) % align)
    return out + b''.join(blobs)


def write(folder, name, data):
    os.makedirs(os.path.join(HERE, folder), exist_ok=True)
    assert len(data) < 65536, name
    with open(os.path.join(HERE, folder, name), 'wb') as f:
        f.write(data)


every_type = [
    ('general.architecture', 8, 'llama'), ('t.u8', 0, 200), ('t.i8', 1, -3), ('t.u16', 2, 60000),
    ('t.i16', 3, -300), ('t.u32', 4, 7), ('t.i32', 5, -7), ('t.f32', 6, 0.5), ('t.bool', 7, True),
    ('t.u64', 10, 1 << 40), ('t.i64', 11, -(1 << 40)), ('t.f64', 12, 2.25),
    ('tokenizer.ggml.tokens', 9, (8, ['<unk>', '<s>', '</s>', 'a', '', 'bc'])),
    ('tokenizer.ggml.scores', 9, (6, [0.0, -1.0, -2.5])),
    ('tokenizer.ggml.token_type', 9, (5, [2, 3, 3, 1])),
    ('tokenizer.ggml.precompiled_charsmap', 9, (0, [1, 2, 3, 4, 5])),
    ('nested', 9, (9, [(5, [1, 2]), (8, ['x', 'yz']), (9, [(0, [9])])])),
]
write('corpus_gguf', 'empty_v3.gguf', gguf([], []))
write('corpus_gguf', 'empty_v2.gguf', gguf([], [], version=2))
write('corpus_gguf', 'kv_every_type.gguf', gguf(every_type, []))
write('corpus_gguf', 'tensors_float.gguf',
      gguf([('general.architecture', 8, 'gpt2')],
           [('token_embd.weight', 0, [8, 4]), ('h.f16', 1, [16]), ('h.bf16', 30, [4, 2, 2])]))
write('corpus_gguf', 'tensors_quant.gguf',
      gguf([('general.architecture', 8, 'llama')],
           [('q4_0', 2, [64, 2]), ('q4_1', 3, [32]), ('q5_0', 6, [32]), ('q5_1', 7, [32]),
            ('q8_0', 8, [32, 3])]))
write('corpus_gguf', 'tensors_kquant.gguf',
      gguf([], [('q2_k', 10, [256]), ('q3_k', 11, [256]), ('q4_k', 12, [256]),
                ('q5_k', 13, [256]), ('q6_k', 14, [256]), ('q8_k', 15, [256])]))
write('corpus_gguf', 'align64.gguf',
      gguf([('general.alignment', 4, 64)], [('a', 0, [3]), ('b', 0, [5, 1, 1, 2])], align=64))
write('corpus_gguf', 'model_like.gguf',
      gguf(every_type[:1] + [('llama.block_count', 4, 1), ('llama.embedding_length', 4, 8)],
           [('token_embd.weight', 0, [8, 6]), ('blk.0.attn_q.weight', 8, [32, 8]),
            ('output_norm.weight', 0, [8])]))


def safetensors(entries, meta=True):
    header, off, blobs = {}, 0, []
    if meta:
        header['__metadata__'] = {'format': 'pt'}
    sizes = {'F32': 4, 'F16': 2, 'BF16': 2, 'I8': 1, 'U8': 1, 'I64': 8, 'BOOL': 1}
    for name, dt, shape in entries:
        n = 1
        for d in shape:
            n *= d
        nb = n * sizes[dt]
        header[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + nb]}
        blobs.append(bytes((i * 13 + 1) % 256 for i in range(nb)))
        off += nb
    h = json.dumps(header).encode()
    h += b' ' * ((-len(h)) % 8)
    return struct.pack('<Q', len(h)) + h + b''.join(blobs)


write('corpus_safetensors', 'empty.safetensors', safetensors([], meta=False))
write('corpus_safetensors', 'dtypes.safetensors',
      safetensors([('a.weight', 'F32', [2, 3]), ('b', 'F16', [4]), ('c', 'BF16', [2, 2]),
                   ('d', 'I8', [3]), ('e', 'U8', [1]), ('pos', 'I64', [1, 4]), ('s', 'F32', []),
                   ('z', 'F32', [0])]))
write('corpus_safetensors', 'gpt2_like.safetensors',
      safetensors([('transformer.wte.weight', 'F32', [16, 8]),
                   ('transformer.h.0.attn.c_attn.weight', 'F32', [8, 24]),
                   ('transformer.h.0.attn.c_attn.bias', 'F32', [24])]))
