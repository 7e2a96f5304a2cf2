#!/usr/bin/env python3
"""Checks KusariCUDA's dlopen bindings against NVIDIA's C headers, without a GPU.

KusariCUDA declares every CUDA, cuDNN, cuBLAS, NCCL and NVRTC function it calls as a Swift
`@convention(c)` type and binds it by name at run time, so nothing checks those declarations
at build time: a wrong parameter count, a 4-byte integer where C takes 8, or an `Int32*` where
C writes a `size_t` would only show up as a crash or garbage on a GPU. This script closes that gap:

1. It reads the function tables in Sources/KusariCUDA (`let name: Alias` and
   `name = try ...("symbol")`) and the `@convention(c)` aliases they use.
2. It asks clang (the one in the Swift toolchain) for each bound symbol's prototype in the
   headers, then compiles a small C program against those headers that reports, for every
   parameter, return value and pointee, its ABI class (integer, floating point, pointer), size
   and signedness.
3. It compares the two, parameter by parameter.

It also checks named constants: a Swift `case` or `static let` whose doc comment starts with a
C constant in backquotes (`/// `CUDNN_DATA_HALF`.`) must have the header's value.

Usage: check-c-bindings.py HEADERS_DIR [SOURCES_DIR]
HEADERS_DIR is what scripts/cuda-headers.py downloads (one include folder per wheel).
Exit status: 0 when everything matches, 1 on any mismatch, 2 on a setup problem.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

HEADERS = ["cuda.h", "cublas_v2.h", "cublasLt.h", "cudnn.h", "nccl.h", "nvrtc.h"]

SWIFT_SCALARS = {
    "Int32": ("int", 4, True), "UInt32": ("int", 4, False),
    "Int": ("int", 8, True), "Int64": ("int", 8, True),
    "UInt": ("int", 8, False), "UInt64": ("int", 8, False),
    "Int16": ("int", 2, True), "UInt16": ("int", 2, False),
    "Int8": ("int", 1, True), "CChar": ("int", 1, True), "UInt8": ("int", 1, False),
    "Bool": ("int", 1, False), "Float": ("real", 4, None), "Double": ("real", 8, None),
}

# C structs Kusari mirrors in Swift, with the layout ABITests pins for the Swift side
# (CUDNNAlgorithmPerformance stands for all three cuDNN algorithm-performance structs).
PERFORMANCE_LAYOUT = {"sizeof": 48, "algo": 0, "status": 4, "time": 8, "memory": 16, "determinism": 24,
                      "mathType": 28}
RECORD_LAYOUTS = {name: PERFORMANCE_LAYOUT for name in
                  ("cudnnConvolutionFwdAlgoPerf_t", "cudnnConvolutionBwdDataAlgoPerf_t",
                   "cudnnConvolutionBwdFilterAlgoPerf_t")}

# __builtin_classify_type: integer, char, enum and bool are integers; 5 is a pointer; 8 a real.
C_CLASSES = {1: "int", 2: "int", 3: "enum", 4: "int", 5: "ptr", 8: "real", 12: "record", 13: "record"}


def number_value(literal):
    """The value of a Swift integer or floating-point literal."""
    literal = literal.replace("_", "")
    try:
        return int(literal, 0)
    except ValueError:
        return float(literal)


def split_top_level(text, separator=","):
    """Splits `text` at `separator`s outside (), <> and []."""
    parts, depth, current = [], 0, ""
    for character in text:
        if character in "(<[":
            depth += 1
        elif character in ")>]":
            depth -= 1
        if character == separator and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += character
    if current.strip():
        parts.append(current.strip())
    return parts


class SwiftBindings:
    """The function tables and documented constants of the Swift sources."""

    def __init__(self, sources):
        self.global_aliases = {}
        self.scoped_aliases = {}  # scope -> alias -> Swift type text
        self.properties = {}      # (scope, property) -> alias
        self.symbols = []         # (scope, property, symbol, file, line)
        self.constants = []       # (C name, value, file, line)
        for name in sorted(os.listdir(sources)):
            if name.endswith(".swift"):
                self._read(os.path.join(sources, name))

    def _read(self, path):
        lines = open(path, encoding="utf-8").read().split("\n")
        scope, pending_constant, index = None, None, 0
        while index < len(lines):
            line = lines[index]
            number = index + 1
            index += 1
            top = re.match(r"(?:public |internal |private |fileprivate )?(?:final )?"
                           r"(?:class|struct|enum|extension) (\w+)", line)
            if top:
                scope = top.group(1)
            stripped = line.strip()
            if stripped.startswith("///"):
                if pending_constant is None:
                    first = re.search(r"`([A-Z][A-Z0-9_]*_[A-Z0-9_]+)`", stripped)
                    pending_constant = first.group(1) if first and stripped[3:].lstrip().startswith("`") else ""
                continue
            if pending_constant:
                value = re.match(r"(?:case `?\w+`?|(?:(?:public|internal|private|fileprivate) )?static let \w+"
                                 r"(?:: *\w+)?) = (-?(?:0x[0-9a-fA-F_]+|[0-9][0-9_]*(?:\.[0-9_]+)?(?:[eE][+-]?[0-9]+)?))$", stripped)
                if value:
                    self.constants.append((pending_constant, number_value(value.group(1)), path, number))
            pending_constant = None
            status_name = re.match(r"case (-?[0-9]+): return \"([A-Z][A-Z0-9_]+)", stripped)
            if status_name:
                self.constants.append((status_name.group(2), int(status_name.group(1)), path, number))
            alias = re.match(r"(?:public |internal )?typealias (\w+) = (.*)$", stripped)
            if alias:
                name, text = alias.group(1), alias.group(2)
                while text.count("(") > text.count(")") or text.rstrip().endswith(","):
                    text += " " + lines[index].strip()
                    index += 1
                if line.startswith("typealias") or line.startswith("public typealias"):
                    self.global_aliases[name] = text
                else:
                    self.scoped_aliases.setdefault(scope, {})[name] = text
                continue
            member = re.match(r"let (\w+): (\w+)\??$", stripped)
            if member:
                self.properties[(scope, member.group(1))] = member.group(2)
                continue
            binding = re.match(r"(\w+) = try\?? (?:library\.function|bind)\(\"(\w+)\"\)$", stripped)
            if binding:
                self.symbols.append((scope, binding.group(1), binding.group(2), path, number))

    def resolve(self, scope, type_text):
        """A Swift type with the scope's and the module's aliases expanded one level at a time."""
        for _ in range(8):
            bare = type_text.strip().rstrip("?!").strip()
            replacement = self.scoped_aliases.get(scope, {}).get(bare) or self.global_aliases.get(bare)
            if replacement is None:
                return bare
            type_text = replacement
        return type_text.strip().rstrip("?!")

    def signature(self, scope, prop):
        """(parameter types, return type) of the `@convention(c)` alias of `scope.prop`."""
        alias = self.properties.get((scope, prop))
        if alias is None:
            return None
        text = self.resolve(scope, alias)
        match = re.match(r"@convention\(c\) *\((.*)\) *-> *(.+)$", text)
        if not match:
            return None
        return split_top_level(match.group(1)), match.group(2).strip()

    def is_device_address(self, scope, type_text):
        """Whether a Swift type is `CUdeviceptr` or an alias of it: a GPU address, which Kusari
        passes as a 64-bit integer where C declares a pointer (the same register either way)."""
        for _ in range(8):
            bare = type_text.strip().rstrip("?!").strip()
            if bare == "CUdeviceptr":
                return True
            type_text = self.scoped_aliases.get(scope, {}).get(bare) or self.global_aliases.get(bare)
            if type_text is None:
                return False
        return False

    def classify(self, scope, type_text):
        """(class, size, signed, pointee) of a Swift type as C sees it."""
        bare = self.resolve(scope, type_text)
        if bare in ("()", "Void"):
            return ("void", 0, None, None)
        if bare in SWIFT_SCALARS:
            kind, size, signed = SWIFT_SCALARS[bare]
            return (kind, size, signed, None)
        pointer = re.match(r"Unsafe(?:Mutable)?Pointer<(.+)>$", bare)
        if pointer:
            return ("ptr", 8, None, pointer.group(1))
        if bare in ("UnsafeRawPointer", "UnsafeMutableRawPointer", "OpaquePointer") or \
                bare.startswith("@convention(c)"):
            return ("ptr", 8, None, None)
        return ("unknown", 0, None, bare)


class CHeaders:
    """Prototypes and constants of the C headers, with ABI facts measured by compiling against them."""

    def __init__(self, include_dirs, clang):
        self.include_flags = [flag for folder in include_dirs for flag in ("-I", folder)]
        self.clang = clang
        self.work = tempfile.mkdtemp(prefix="kusari-bindings-")
        self.prelude = "".join(f"#include <{header}>\n" for header in HEADERS)
        source = os.path.join(self.work, "headers.c")
        open(source, "w").write(self.prelude)
        dump = subprocess.run([clang, "-fsyntax-only", *self.include_flags, "-Xclang", "-ast-dump=json", source],
                              capture_output=True, text=True)
        if dump.returncode != 0:
            sys.exit(f"error: clang could not parse the CUDA headers:\n{dump.stderr[-4000:]}")
        self.functions, self.typedefs = {}, {}
        for node in json.loads(dump.stdout).get("inner", []):
            if node.get("kind") == "FunctionDecl" and "name" in node:
                self.functions[node["name"]] = node
            elif node.get("kind") == "TypedefDecl" and "name" in node:
                self.typedefs[node["name"]] = node["type"]["qualType"]

    def is_enum(self, spelling):
        """Whether a C type spelling names an enum (C leaves an enum's signedness to the compiler)."""
        for _ in range(8):
            spelling = re.sub(r"\bconst\b", "", spelling).strip()
            if spelling.startswith("enum "):
                return True
            if spelling not in self.typedefs:
                return False
            spelling = self.typedefs[spelling]
        return False

    def prototype(self, symbol):
        """(parameter type spellings, return type spelling), or None when no header declares it."""
        node = self.functions.get(symbol)
        if node is None:
            return None
        parameters = [child["type"]["qualType"] for child in node.get("inner", [])
                      if child.get("kind") == "ParmVarDecl"]
        function_type = node["type"]["qualType"]
        depth, start = 0, None
        for position in range(len(function_type) - 1, -1, -1):
            if function_type[position] == ")":
                depth += 1
            elif function_type[position] == "(":
                depth -= 1
                if depth == 0:
                    start = position
                    break
        result = function_type[:start].strip()
        if parameters == [] and function_type[start:].strip() not in ("()", "(void)"):
            parameters = [text for text in split_top_level(function_type[start + 1:-1]) if text != "void"]
        return parameters, result

    def measure(self, types, constants):
        """ABI facts of C type spellings and values of C constants, from one compiled program."""
        classes = self._run([f'  printf("T {index} %d %zu\\n", __builtin_classify_type(*({spelling} *)0), '
                             f'sizeof({spelling}));' for index, spelling in enumerate(types)])
        integers = [index for index, line in enumerate(classes) if C_CLASSES.get(int(line[2])) in ("int", "enum")]
        signs = self._run([f'  printf("S {index} %d\\n", (int)(({types[index]})-1 < ({types[index]})0));'
                           for index in integers] +
                          [f'  printf("C {name} %.17g\\n", (double)({name}));' for name in constants])
        layouts = self._run([f'  printf("R {record} {field} %zu\\n", '
                             + (f"sizeof({record}));" if field == "sizeof" else f"offsetof({record}, {field}));")
                             for record, fields in RECORD_LAYOUTS.items() for field in fields])
        self.layouts = {(fields[1], fields[2]): int(fields[3]) for fields in layouts}
        signed = {int(fields[1]): fields[2] == "1" for fields in signs if fields[0] == "S"}
        facts = {}
        for fields in classes:
            spelling = types[int(fields[1])]
            kind = "enum" if self.is_enum(spelling) else C_CLASSES.get(int(fields[2]), f"class{fields[2]}")
            facts[spelling] = (kind, int(fields[3]), signed.get(int(fields[1])))
        values = {fields[1]: number_value(fields[2]) for fields in signs if fields[0] == "C"}
        return facts, values

    def _run(self, body):
        """The whitespace-split output lines of a C program with `body` as its main."""
        program = (self.prelude + "#include <stddef.h>\n#include <stdio.h>\n#pragma clang diagnostic ignored \"-Weverything\"\n"
                   "int main(void) {\n" + "\n".join(body) + "\n  return 0;\n}\n")
        source, binary = os.path.join(self.work, "measure.c"), os.path.join(self.work, "measure")
        open(source, "w").write(program)
        build = subprocess.run([self.clang, "-w", *self.include_flags, source, "-o", binary],
                               capture_output=True, text=True)
        if build.returncode != 0:
            sys.exit(f"error: the measuring program did not compile:\n{build.stderr[-4000:]}")
        output = subprocess.run([binary], capture_output=True, text=True, check=True).stdout
        return [line.split() for line in output.split("\n") if line.strip()]


def pointee_spelling(spelling):
    """`const int *` -> `const int`; None unless the spelling is an explicit pointer to a sized type."""
    if not spelling.endswith("*"):
        return None
    pointee = spelling[:-1].strip()
    if re.sub(r"\bconst\b", "", pointee).strip() == "void":
        return None
    return pointee


def compatible(swift, device_address, c_fact, c_pointee_fact, bindings, scope):
    """Problems (errors, warnings) between a Swift parameter and the C one."""
    errors, warnings = [], []
    kind, size, signed, pointee = swift
    c_kind, c_size, c_signed = c_fact
    if c_kind == "enum":
        c_kind, c_signed = "int", None
    if device_address and c_kind == "ptr":
        return errors, warnings
    if kind != c_kind or size != c_size:
        errors.append(f"Swift passes {kind}{size * 8}, C takes {c_kind}{c_size * 8}")
        return errors, warnings
    swift_size_t = signed and size == 8  # Swift imports C's size_t as Int
    if kind == "int" and c_signed is not None and signed != c_signed and not swift_size_t:
        warnings.append(f"signedness differs (Swift {'signed' if signed else 'unsigned'}, "
                        f"C {'signed' if c_signed else 'unsigned'})")
    if kind == "ptr" and pointee is not None and c_pointee_fact is not None:
        inner = bindings.classify(scope, pointee)
        inner_kind, inner_size = inner[0], inner[1]
        c_inner_kind = "int" if c_pointee_fact[0] == "enum" else c_pointee_fact[0]
        if inner_kind != "unknown" and (inner_kind != c_inner_kind or inner_size != c_pointee_fact[1]):
            errors.append(f"pointee: Swift {pointee} is {inner_kind}{inner_size * 8}, "
                          f"C's is {c_inner_kind}{c_pointee_fact[1] * 8}")
    return errors, warnings


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    headers_root = sys.argv[1]
    sources = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..",
                                                                    "Sources", "KusariCUDA")
    include_dirs = sorted(os.path.join(headers_root, name) for name in os.listdir(headers_root))
    clang = os.environ.get("CLANG", "clang")
    bindings = SwiftBindings(sources)
    headers = CHeaders(include_dirs, clang)

    errors, warnings, rows = [], [], []
    spellings = set()
    for scope, prop, symbol, path, line in bindings.symbols:
        where = f"{os.path.basename(path)}:{line} {symbol}"
        signature = bindings.signature(scope, prop)
        prototype = headers.prototype(symbol)
        if signature is None:
            errors.append(f"{where}: no @convention(c) alias found for {scope}.{prop}")
            continue
        if prototype is None:
            errors.append(f"{where}: no header among {', '.join(HEADERS)} declares it")
            continue
        rows.append((scope, where, signature, prototype))
        for spelling in prototype[0] + ([prototype[1]] if prototype[1] != "void" else []):
            spellings.add(spelling)
            if pointee_spelling(spelling):
                spellings.add(pointee_spelling(spelling))
    spellings = sorted(spellings)
    facts, values = headers.measure(spellings, sorted({name for name, _, _, _ in bindings.constants}))

    for scope, where, (swift_parameters, swift_result), (c_parameters, c_result) in rows:
        if len(swift_parameters) != len(c_parameters):
            errors.append(f"{where}: Swift declares {len(swift_parameters)} parameters, C {len(c_parameters)}")
            continue
        pairs = list(zip(swift_parameters, c_parameters)) + [(swift_result, c_result)]
        for position, (swift_text, c_text) in enumerate(pairs):
            label = "result" if position == len(swift_parameters) else f"parameter {position + 1} ({c_text})"
            swift = bindings.classify(scope, swift_text)
            if c_text == "void":
                if swift[0] != "void":
                    errors.append(f"{where}: {label}: C returns void, Swift {swift_text}")
                continue
            if swift[0] == "unknown":
                errors.append(f"{where}: {label}: cannot classify Swift type {swift_text}")
                continue
            pointee = pointee_spelling(c_text)
            problems, notes = compatible(swift, bindings.is_device_address(scope, swift_text), facts[c_text], facts.get(pointee) if pointee else None,
                                         bindings, scope)
            errors += [f"{where}: {label}: {problem}" for problem in problems]
            warnings += [f"{where}: {label}: {note}" for note in notes]

    for name, value, path, line in bindings.constants:
        if name not in values:
            errors.append(f"{os.path.basename(path)}:{line}: {name} is not a constant of the headers")
        elif values[name] != value and abs(values[name] - value) > 1e-12 * abs(value):
            errors.append(f"{os.path.basename(path)}:{line}: {name} is {values[name]} in the headers, "
                          f"Swift says {value}")

    for record, fields in RECORD_LAYOUTS.items():
        for field, expected in fields.items():
            if headers.layouts[(record, field)] != expected:
                errors.append(f"{record}: {field} is {headers.layouts[(record, field)]} in the headers, "
                              f"Kusari's mirror struct has {expected}")

    for warning in warnings:
        print(f"warning: {warning}")
    for error in errors:
        print(f"error: {error}")
    print(f"checked {len(rows)} bound functions ({sum(len(row[2][0]) + 1 for row in rows)} parameters and "
          f"results), {len(bindings.constants)} constants and {len(RECORD_LAYOUTS)} struct layouts against {', '.join(HEADERS)}: "
          f"{len(errors)} mismatches, {len(warnings)} warnings")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
