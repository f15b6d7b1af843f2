"""``credo vae-demo`` end to end, in process, with a tiny run."""

import json

from credo import cli


def test_vae_demo_writes_figures_and_summary(tmp_path, capsys):
    out = tmp_path / "demo"
    status = cli.main(["vae-demo", "--epochs", "2", "--latent", "2", "--out", str(out),
                       "--seed", "1", "--gap-steps", "5", "--quiet"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "test ELBO" in printed and "amortization gap" in printed
    for name in ("vae-reconstructions.png", "vae-samples.png", "vae-latent.png", "vae-elbo.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test"]["iwae"] >= summary["test"]["elbo"]
    assert summary["config"]["latent_dim"] == 2 and summary["config"]["epochs"] == 2
    assert (out / "vae.npz").exists()


def test_vae_demo_rejects_bad_sizes(tmp_path, capsys):
    assert cli.main(["vae-demo", "--epochs", "0", "--out", str(tmp_path)]) == 2
    assert "must be positive" in capsys.readouterr().err
