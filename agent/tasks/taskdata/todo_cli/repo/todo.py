"""A tiny to-do list kept in a JSON file.

    python todo.py add "buy milk"
    python todo.py list
    python todo.py done 1
"""

import argparse
import json
import sys
from pathlib import Path


def load(path):
    return json.loads(path.read_text()) if path.exists() else []


def save(path, items):
    path.write_text(json.dumps(items, indent=1))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="todo")
    parser.add_argument("--file", type=Path, default=Path("todo.json"), help="where the list is kept")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("add", help="add an item").add_argument("text")
    commands.add_parser("list", help="show the items, numbered from 1")
    done = commands.add_parser("done", help="mark an item as done")
    done.add_argument("number", type=int, help="the item's number, as `list` shows it")
    args = parser.parse_args(argv)

    items = load(args.file)
    if args.command == "add":
        items.append({"text": args.text, "done": False})
        save(args.file, items)
        print(f"added {len(items)}: {args.text}")
    elif args.command == "list":
        for number, item in enumerate(items, start=1):
            mark = "x" if item["done"] else " "
            print(f"{number}. [{mark}] {item['text']}")
    elif args.command == "done":
        if not 0 <= args.number <= len(items):
            print(f"error: no item {args.number}", file=sys.stderr)
            return 1
        item = items[args.number]
        item["done"] = True
        save(args.file, items)
        print(f"done {args.number}: {item['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
