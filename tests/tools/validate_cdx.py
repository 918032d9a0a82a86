#!/usr/bin/env python3
"""Run with Debian's /usr/bin/python3 (python3-jsonschema from apt).

Validates a CycloneDX JSON document against the vendored official schema.

  validate_cdx.py SCHEMA_DIR FILE.cdx.json

SCHEMA_DIR holds bom-1.5.schema.json and the schemas it references by
relative $ref (spdx.schema.json, jsf-0.82.schema.json); they are served from
a local registry, so nothing is fetched. Exit 0 when valid; 1 with every
error printed (JSON path and message) when not.
"""
import json, os, sys

import jsonschema


def main():
    schema_dir, doc_path = sys.argv[1], sys.argv[2]
    schemas = {}
    for fn in ("bom-1.5.schema.json", "spdx.schema.json", "jsf-0.82.schema.json"):
        with open(os.path.join(schema_dir, fn), encoding="utf-8") as f:
            schemas[fn] = json.load(f)
    root = schemas["bom-1.5.schema.json"]
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    cls = jsonschema.Draft7Validator
    try:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7
        resources = []
        for s in schemas.values():
            r = Resource(contents=s, specification=DRAFT7)
            resources.append((s["$id"], r))
        registry = Registry().with_resources(resources)
        validator = cls(root, registry=registry, format_checker=cls.FORMAT_CHECKER)
    except ImportError:  # jsonschema < 4.18
        store = {s["$id"]: s for s in schemas.values()}
        resolver = jsonschema.RefResolver.from_schema(root, store=store)
        validator = cls(root, resolver=resolver, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors:
        print("invalid at /%s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message[:500]))
    if errors:
        return 1
    print("valid CycloneDX %s: %d components" % (doc.get("specVersion"), len(doc.get("components", []))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
