"""mkdocs hook: the notebooks under examples/notebooks/ as pages of the site, with their outputs.

Each notebook becomes notebooks/<name>.md (markdown cells as they are, code cells as Python
blocks, each output below its cell: figures and graphs as image files, text as text blocks, HTML
tables as they are) plus a download of the clean .ipynb. The outputs come from running the
notebook in a Jupyter kernel: the copy the test suite ran (build/notebooks/, see
tests/test_notebooks.py) when it was run from the same notebook and the same package code,
else the hook runs it now. Progress bars and stderr are left out.
"""

import base64
import hashlib
import html
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "examples" / "notebooks"
CACHE = ROOT / "build" / "notebooks"
CELL_TIMEOUT_S = 180
# An image wider than this (CSS px) keeps its size in a scroll box rather than shrink to the column.
LARGE_PX = 760


def notebook_paths():
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def source_hash(path):
    """Of the notebook and of every file of the package: outputs depend on both."""
    digest = hashlib.sha256(Path(path).read_bytes())
    for source in sorted((ROOT / "tinygrad_rnn").rglob("*.py")):
        digest.update(source.relative_to(ROOT).as_posix().encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def execute(path, timeout=CELL_TIMEOUT_S):
    """Run a notebook top to bottom in a fresh python3 kernel, in its own folder. Returns the
    executed notebook; a cell that raises raises nbclient's CellExecutionError."""
    import nbclient
    import nbformat
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    nb = nbformat.read(str(path), as_version=4)
    # The kernel of this Python (ipykernel's own spec, sys.executable), never a 'python3' kernel
    # installed elsewhere on the machine, which may lack this package.
    specs = KernelSpecManager(kernel_dirs=[])
    km = KernelManager(kernel_name="python3", kernel_spec_manager=specs)
    client = nbclient.NotebookClient(nb, km=km, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(Path(path).parent)}})
    client.execute()
    return nb


def execute_and_cache(path):
    """execute(), then keep the result in build/notebooks/ for the docs build."""
    import nbformat

    digest = source_hash(path)
    nb = execute(path)
    nb.metadata["tinygrad_rnn_source_hash"] = digest
    CACHE.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(CACHE / Path(path).name))
    return nb


def executed(path):
    """The executed notebook: the cached run when it matches the sources, else a new run."""
    import nbformat

    cached = CACHE / Path(path).name
    if cached.exists():
        nb = nbformat.read(str(cached), as_version=4)
        if nb.metadata.get("tinygrad_rnn_source_hash") == source_hash(path):
            return nb
    return execute_and_cache(path)


# ----------------------------------------------------------------------------------------------
# Notebook -> markdown page


def to_markdown(nb, stem):
    """The page's markdown and its image files {name: bytes}, named <stem>/<k>.<ext>."""
    parts = [f"[Download the notebook]({stem}.ipynb){{ .md-button }} "
             f"or open it: `pip install -e '.[notebooks]'`, then "
             f"`jupyter lab examples/notebooks/{stem}.ipynb`\n"]
    images = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            # a link to a sibling notebook goes to its page on the site; one into docs/ to that page
            source = re.sub(r"\]\((\d\d_\w+)\.ipynb\)", r"](\1.md)", cell.source)
            parts.append(source.replace("](../../docs/", "](../"))
        elif cell.cell_type == "code":
            if cell.source.strip():
                parts.append(f"```python\n{cell.source}\n```")
            for output in cell.get("outputs", []):
                shown = _output(output, stem, images)
                if shown:
                    parts.append(shown)
    # the title line of the first markdown cell is the page's title; the download link goes below it
    first, rest = parts[1].split("\n", 1) if "\n" in parts[1] else (parts[1], "")
    parts[0:2] = [first, parts[0], rest]
    return "\n\n".join(p for p in parts if p.strip()) + "\n", images


def _output(output, stem, images):
    kind = output.get("output_type")
    if kind == "stream":
        return None if output.get("name") == "stderr" else _text_block(output.get("text", ""))
    if kind == "error":
        return _text_block("\n".join(output.get("traceback", [])))
    data = output.get("data", {})
    if "application/vnd.jupyter.widget-view+json" in data:
        return None  # a progress bar: no use on a static page
    for mime, ext in (("image/svg+xml", "svg"), ("image/png", "png")):
        if mime in data:
            name = f"{stem}/{len(images) + 1}.{ext}"
            raw = data[mime]
            images[name] = raw.encode("utf-8") if ext == "svg" else base64.b64decode(raw)
            width = _image_width(images[name], ext)
            cls = "{ .nb-large }" if width and width > LARGE_PX else ""
            return f'<div class="nb-output" markdown>\n\n![output {len(images)}]({name}){cls}\n\n</div>'
    if "text/html" in data:
        return f'<div class="nb-output">\n{_joined(data["text/html"])}\n</div>'
    if "text/plain" in data:
        return _text_block(_joined(data["text/plain"]))
    return None


def _joined(value):
    return "".join(value) if isinstance(value, list) else value


def _text_block(text):
    text = _strip_ansi(text).rstrip()
    if not text:
        return None
    return f'<div class="nb-output"><pre><code>{html.escape(text)}</code></pre></div>'


def _strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _image_width(data, ext):
    """The width in CSS px an image shows at."""
    if ext == "png":
        return int.from_bytes(data[16:20], "big")
    match = re.search(rb'<svg\b[^>]*?\bwidth="([\d.]+)(pt|px)?"', data)
    if match is None:
        return None
    return float(match.group(1)) * (4 / 3 if match.group(2) in (b"pt", None) else 1)


# ----------------------------------------------------------------------------------------------
# The hook


def on_files(files, config):
    from mkdocs.structure.files import File

    for path in notebook_paths():
        stem = path.stem
        nb = executed(path)
        page, images = to_markdown(nb, stem)
        files.append(File.generated(config, f"notebooks/{stem}.md", content=page))
        files.append(File.generated(config, f"notebooks/{stem}.ipynb", content=path.read_bytes()))
        for name, data in images.items():
            files.append(File.generated(config, f"notebooks/{name}", content=data))
    return files


if __name__ == "__main__":  # python tools/mkdocs_notebooks.py: run every notebook, refresh the cache
    for p in notebook_paths():
        execute_and_cache(p)
        print("ran", p.relative_to(ROOT), json.dumps(str(CACHE / p.name)))
