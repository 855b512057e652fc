"""CLIP's byte-level BPE tokenizer and text model (transformers' CLIPTokenizer / CLIPTextModel, transcribed:
same state-dict names and maths), with a greedy BPE trainer for small vocabularies.

The transformers snapshot is too large to fetch onto this machine, so this is a transcription, checked against
the engine by tests/engine/diffusion-parity.test.ts (through training/reference/diffusion_tiny.py).
"""
import html
import json
import os

import regex
import torch
from torch import nn


# ---------------------------------------------------------------- CLIP tokenizer (transformers' CLIPTokenizer)
def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


PAT = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", regex.IGNORECASE)


def clean(text):
    text = html.unescape(html.unescape(text)).strip()
    return regex.sub(r'\s+', ' ', text).strip().lower()


def word_symbols(token):
    b2u = bytes_to_unicode()
    s = ''.join(b2u[b] for b in token.encode('utf-8'))
    return list(s[:-1]) + [s[-1] + '</w>']


def train_merges(corpus, count):
    """Greedy BPE over the corpus' words: a small, real merges table for the tiny tokenizer."""
    words = {}
    for t in PAT.findall(clean(corpus)):
        key = tuple(word_symbols(t))
        words[key] = words.get(key, 0) + 1
    merges = []
    for _ in range(count):
        pairs = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        nw = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            nw[tuple(out)] = nw.get(tuple(out), 0) + c
        words = nw
    return merges


class Tokenizer:
    def __init__(self, vocab, merges):
        self.encoder = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.b2u = bytes_to_unicode()

    def bpe(self, token):
        word = tuple(token[:-1]) + (token[-1] + '</w>',)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float('inf')))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new.extend(word[i:])
                    break
                new.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = tuple(new)
        return word

    def __call__(self, text, length=77):
        ids = [self.encoder['<|startoftext|>']]
        for t in PAT.findall(clean(text)):
            if t in ('<|startoftext|>', '<|endoftext|>'):  # CLIP maps these straight to their ids
                ids.append(self.encoder[t])
                continue
            u = ''.join(self.b2u[b] for b in t.encode('utf-8'))
            ids.extend(self.encoder[p] for p in self.bpe(u))
        ids = ids[:length - 1] + [self.encoder['<|endoftext|>']]
        return ids + [self.encoder['<|endoftext|>']] * (length - len(ids))


# ---------------------------------------------------------------- CLIP text model (transformers' CLIPTextModel)
class CLIPAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h = c['num_attention_heads']
        d = c['hidden_size']
        self.k_proj, self.v_proj, self.q_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, mask):
        b, n, d = x.shape
        hd = d // self.h
        q = self.q_proj(x).view(b, n, self.h, hd).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.h, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.h, hd).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) * hd ** -0.5 + mask, dim=-1)
        return self.out_proj((w @ v).transpose(1, 2).reshape(b, n, d))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c['hidden_size']
        self.self_attn = CLIPAttention(c)
        self.layer_norm1 = nn.LayerNorm(d, eps=c['layer_norm_eps'])
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(d, c['intermediate_size'])
        self.mlp.fc2 = nn.Linear(c['intermediate_size'], d)
        self.layer_norm2 = nn.LayerNorm(d, eps=c['layer_norm_eps'])

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        h = self.mlp.fc1(self.layer_norm2(x))
        h = h * torch.sigmoid(1.702 * h)  # quick_gelu
        return x + self.mlp.fc2(h)


class CLIPTextModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        tm = nn.Module()
        tm.embeddings = nn.Module()
        tm.embeddings.token_embedding = nn.Embedding(c['vocab_size'], c['hidden_size'])
        tm.embeddings.position_embedding = nn.Embedding(c['max_position_embeddings'], c['hidden_size'])
        tm.encoder = nn.Module()
        tm.encoder.layers = nn.ModuleList(CLIPEncoderLayer(c) for _ in range(c['num_hidden_layers']))
        tm.final_layer_norm = nn.LayerNorm(c['hidden_size'], eps=c['layer_norm_eps'])
        self.text_model = tm

    def forward(self, ids):
        tm = self.text_model
        n = ids.shape[1]
        x = tm.embeddings.token_embedding(ids) + tm.embeddings.position_embedding(torch.arange(n))[None]
        mask = torch.triu(torch.full((n, n), torch.finfo(torch.float32).min), 1)[None, None]
        for layer in tm.encoder.layers:
            x = layer(x, mask)
        return tm.final_layer_norm(x)


def make_tokenizer(corpus, merges_count, out_dir=None):
    """A vocabulary of the 256 byte symbols (alone and word-final), the merges learnt on `corpus`, and CLIP's
    two special tokens last. Writes vocab.json + merges.txt to out_dir when given."""
    b2u = bytes_to_unicode()
    base = list(b2u.values())
    merges = train_merges(corpus, merges_count)
    vocab_list = base + [v + '</w>' for v in base] + [a + b for a, b in merges] + ['<|startoftext|>', '<|endoftext|>']
    vocab = {v: i for i, v in enumerate(vocab_list)}
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, 'vocab.json'), 'w', encoding='utf-8') as f:
            json.dump(vocab, f, ensure_ascii=False)
        with open(os.path.join(out_dir, 'merges.txt'), 'w', encoding='utf-8') as f:
            f.write('#version: 0.2\n' + ''.join(f'{a} {b}\n' for a, b in merges))
    return Tokenizer(vocab, merges), len(vocab)
