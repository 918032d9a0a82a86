#!/usr/bin/env python3
"""Builds a small wheel for tests, with no third-party tools.

  mkwheel.py OUTDIR NAME VERSION [--requires DIST ...] [--license L]
             [--ext PYTHON_PREFIX] [--module-text TEXT] [--script NAME]
             [--tag PY-ABI-PLATFORM]

A pure wheel holds package NAME/__init__.py. With --ext, a C extension
NAME/_speed.<EXT_SUFFIX> is compiled with gcc against that prefix's headers
and the wheel is tagged for that interpreter (cpXY-cpXY-linux_x86_64).
--script adds a console_scripts entry point. --tag names the wheel's tag
(e.g. cp312-cp312-manylinux_2_28_x86_64) whatever it holds, as for a wheel
built elsewhere. --ext-bundled-lib L builds libL here and ships it in the
wheel as NAME.libs/libL-<hash>.so.1, the extension linked against it with
RUNPATH $ORIGIN/../NAME.libs, as auditwheel repair does. Prints the wheel's
path.
"""
import argparse, base64, hashlib, os, subprocess, sys, tempfile, zipfile


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("name")
    ap.add_argument("version")
    ap.add_argument("--requires", action="append", default=[])
    ap.add_argument("--license", default="MIT")
    ap.add_argument("--ext", metavar="PYTHON_PREFIX")
    ap.add_argument("--ext-lib", metavar="LIBNAME",
                    help="link the extension against lib<LIBNAME>.so found in --ext-libdir")
    ap.add_argument("--ext-libdir")
    ap.add_argument("--ext-bundled-lib", metavar="LIBNAME",
                    help="ship lib<LIBNAME> inside the wheel (NAME.libs/) and link the extension against it")
    ap.add_argument("--module-text", default="")
    ap.add_argument("--script")
    ap.add_argument("--tag", metavar="PY-ABI-PLATFORM",
                    help="the wheel's tag, in its file name and WHEEL (default: py3-none-any, or the --ext interpreter's)")
    a = ap.parse_args()
    if a.tag is not None and len(a.tag.split("-")) != 3:
        ap.error(f"--tag {a.tag!r}: expected PY-ABI-PLATFORM, e.g. cp312-cp312-manylinux_2_28_x86_64")

    pkg = a.name.replace("-", "_")
    files = {}
    init = f'__version__ = "{a.version}"\n'
    for dep in a.requires:
        init += f"import {dep.replace('-', '_')}\n"
    init += a.module_text + "\n"
    if a.script:
        init += "def main():\n    print('" + a.name + " " + a.version + " ok')\n"
    tag = "py3-none-any"
    if a.ext:
        py = sorted(f for f in os.listdir(os.path.join(a.ext, "bin")) if f.startswith("python3.") and f[8:].isdigit())[-1]
        pybin = os.path.join(a.ext, "bin", py)
        info = subprocess.check_output([pybin, "-c",
            "import sysconfig,sys;print(sysconfig.get_paths()['include']);print(sysconfig.get_config_var('EXT_SUFFIX'));"
            "print('cp%d%d' % sys.version_info[:2])"], text=True).split("\n")
        include, suffix, cptag = info[0], info[1], info[2]
        clib = a.ext_lib or a.ext_bundled_lib
        src = f"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
{"extern int " + clib + "_answer(void);" if clib else ""}
static PyObject* add(PyObject* self, PyObject* args) {{
  long x, y;
  if (!PyArg_ParseTuple(args, "ll", &x, &y)) return NULL;
  return PyLong_FromLong(x + y{" + " + clib + "_answer()" if clib else ""});
}}
static PyMethodDef methods[] = {{{{"add", add, METH_VARARGS, "add two ints"}}, {{NULL, NULL, 0, NULL}}}};
static struct PyModuleDef mod = {{PyModuleDef_HEAD_INIT, "_speed", NULL, -1, methods}};
PyMODINIT_FUNC PyInit__speed(void) {{ return PyModule_Create(&mod); }}
"""
        with tempfile.TemporaryDirectory() as td:
            c = os.path.join(td, "speed.c")
            so = os.path.join(td, "_speed" + suffix)
            open(c, "w").write(src)
            cmd = ["gcc", "-shared", "-fPIC", "-O2", "-I", include, c, "-o", so]
            if a.ext_lib:
                cmd += ["-L", a.ext_libdir, "-l" + a.ext_lib]
            if a.ext_bundled_lib:
                lsrc = f"int {clib}_answer(void) {{ return 0; }}\n"
                soname = f"lib{clib}-{hashlib.sha256(lsrc.encode()).hexdigest()[:8]}.so.1"
                open(os.path.join(td, "lib.c"), "w").write(lsrc)
                libso = os.path.join(td, soname)
                subprocess.check_call(["gcc", "-shared", "-fPIC", "-Wl,-soname," + soname,
                                       os.path.join(td, "lib.c"), "-o", libso])
                cmd += [libso, f"-Wl,--enable-new-dtags,-rpath,$ORIGIN/../{pkg}.libs"]
                files[f"{pkg}.libs/{soname}"] = open(libso, "rb").read()
            subprocess.check_call(cmd)
            files[f"{pkg}/_speed{suffix}"] = open(so, "rb").read()
        init += "from ._speed import add\n"
        tag = f"{cptag}-{cptag}-linux_x86_64"
    if a.tag:
        tag = a.tag
    files[f"{pkg}/__init__.py"] = init.encode()

    di = f"{pkg}-{a.version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {a.name}\nVersion: {a.version}\nLicense: {a.license}\nSummary: test package {a.name}\n"
    for dep in a.requires:
        meta += f"Requires-Dist: {dep}\n"
    files[f"{di}/METADATA"] = meta.encode()
    files[f"{di}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: mkwheel\nRoot-Is-Purelib: {'true' if tag.endswith('-any') else 'false'}\nTag: {tag}\n").encode()
    if a.script:
        files[f"{di}/entry_points.txt"] = f"[console_scripts]\n{a.script} = {pkg}:main\n".encode()
    files[f"{di}/top_level.txt"] = f"{pkg}\n".encode()
    record = "\n".join(record_line(p, d) for p, d in files.items()) + f"\n{di}/RECORD,,\n"
    files[f"{di}/RECORD"] = record.encode()

    os.makedirs(a.outdir, exist_ok=True)
    out = os.path.join(a.outdir, f"{pkg}-{a.version}-{tag}.whl")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for p, d in files.items():
            z.writestr(p, d)
    print(out)


if __name__ == "__main__":
    main()
