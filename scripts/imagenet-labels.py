#!/usr/bin/python3
"""Writes src/model/imagenet-labels.json: the 1000 ImageNet-1k class names, in class-index order.

The names come from Debian's python3-torchvision (`apt-get install -y python3-torchvision`),
whose torchvision/models/_meta.py holds them as _IMAGENET_CATEGORIES. The list is read as a
literal with `ast`, so torch itself is never imported. Run from anywhere:

    /usr/bin/python3 scripts/imagenet-labels.py [META_PY]
"""
import ast
import json
import pathlib
import sys

DEFAULT_META = '/usr/lib/python3/dist-packages/torchvision/models/_meta.py'
OUT = pathlib.Path(__file__).resolve().parent.parent / 'src' / 'model' / 'imagenet-labels.json'


def categories(meta_py: str) -> list:
    tree = ast.parse(pathlib.Path(meta_py).read_text(encoding='utf-8'))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == '_IMAGENET_CATEGORIES' for t in node.targets
        ):
            return ast.literal_eval(node.value)
    sys.exit(f'{meta_py}: no _IMAGENET_CATEGORIES (install python3-torchvision)')


def main() -> None:
    meta = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_META
    names = categories(meta)
    if len(names) != 1000 or not all(isinstance(n, str) and n for n in names):
        sys.exit(f'{meta}: expected 1000 class names, got {len(names)}')
    OUT.write_text(json.dumps(names, indent=2, ensure_ascii=False) + '\n', encoding='utf-8')
    print(f'wrote {len(names)} labels to {OUT}')


if __name__ == '__main__':
    main()
