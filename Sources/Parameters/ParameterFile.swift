import Foundation

/// One refused line or value of a parameter file, with where it is and what
/// would be allowed, so a user can fix the file without reading our code.
public struct ParameterDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    /// 1-based line number; nil when the problem is a parameter that is missing.
    public let line: Int?
    public let name: String
    public let message: String

    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(name): \(message)"
    }
}

/// All problems found in one parameter file (GADGET-4 also reports every
/// problem before stopping, rather than one per attempt).
public struct ParameterFileError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [ParameterDiagnostic]

    public var description: String {
        "parameter file has \(diagnostics.count) error\(diagnostics.count == 1 ? "" : "s"):\n"
            + diagnostics.map { "  " + $0.description }.joined(separator: "\n")
    }
}

/// Reads GADGET-4 parameter files: one `Name value` per line, `%` starts a
/// comment line, and anything after the value that starts with `%` or `;` is a
/// comment. Config.sh lines (`PMGRID=128`, a bare `FOF`) are accepted for
/// compile-time options, so they can be moved over unchanged.
public enum ParameterFile {
    public static func load(path: String) throws -> ParameterSet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ParameterFileError(diagnostics: [
                ParameterDiagnostic(file: path, line: nil, name: "(file)", message: "cannot be read (missing or not permitted)"),
            ])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ParameterFileError(diagnostics: [
                ParameterDiagnostic(file: path, line: nil, name: "(file)", message: "is not UTF-8 text"),
            ])
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String = "<parameters>") throws -> ParameterSet {
        var values: [String: ParameterValue] = [:]
        var lines: [String: Int] = [:]
        var problems: [ParameterDiagnostic] = []
        func fail(_ line: Int?, _ name: String, _ message: String) {
            problems.append(ParameterDiagnostic(file: file, line: line, name: name, message: message))
        }

        // Split on \n; a trailing \r (Windows line ends, as in GADGET-4's own example) is whitespace.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let lineNumber = index + 1
            var tokens = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if let comment = tokens.firstIndex(where: { $0.hasPrefix("%") || $0.hasPrefix(";") }) {
                tokens.removeSubrange(comment...)
            }
            if tokens.isEmpty { continue }

            var name = tokens[0]
            var valueText: String? = tokens.count > 1 ? tokens[1] : nil
            // Config.sh syntax: NAME=VALUE
            if valueText == nil, let eq = name.firstIndex(of: "=") {
                valueText = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let spec = ParameterTable.spec(named: name) else {
                fail(lineNumber, name, "unknown parameter" + suggestion(for: name))
                continue
            }
            if let earlier = lines[name] {
                fail(lineNumber, name, "given twice (first on line \(earlier))")
                continue
            }
            lines[name] = lineNumber  // also marks a refused value as given, so it is not "missing" too
            if tokens.count > 2 {
                fail(lineNumber, name, "unexpected '\(tokens[2])' after the value; comments start with % or ;")
                continue
            }
            guard let valueText, !valueText.isEmpty else {
                if spec.kind == .flag {  // a bare Config.sh switch turns it on
                    values[name] = .integer(1)
                } else {
                    fail(lineNumber, name, "has no value; expected \(spec.allowed)")
                }
                continue
            }
            switch spec.parse(valueText) {
            case .success(let value): values[name] = value
            case .failure(let problem): fail(lineNumber, name, "\(problem.reason); allowed: \(spec.allowed)")
            }
        }

        let set = ParameterSet(file: file, given: values, lines: lines)
        problems += set.missingParameters().map {
            ParameterDiagnostic(file: file, line: nil, name: $0.name, message: "missing; expected \($0.allowed) (\($0.summary))")
        }
        if problems.isEmpty { problems += set.consistencyProblems() }
        if !problems.isEmpty { throw ParameterFileError(diagnostics: problems) }
        return set
    }

    /// " (did you mean X?)" for names that differ only in case or by a typo.
    static func suggestion(for name: String) -> String {
        guard name.count <= 64 else { return "" }
        let lower = name.lowercased()
        if let match = ParameterTable.gadget4.first(where: { $0.name.lowercased() == lower }) {
            return " (did you mean \(match.name)? names are case-sensitive)"
        }
        let close = ParameterTable.gadget4.map { ($0.name, editDistance($0.name.lowercased(), lower)) }
            .filter { $0.1 <= 2 }.min { $0.1 < $1.1 }
        return close.map { " (did you mean \($0.0)?)" } ?? ""
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
