import Foundation

/// Real text for language-model experiments, as bytes, split deterministically into
/// training and validation text: the English `fortunes` collection, or — a second domain —
/// the Python standard library's source, both as Debian installs them at a fixed version
/// (`scripts/install-text.sh`).
///
/// `.fortunes`: every file of the folder without an extension (the `.dat` indexes and `.u8`
/// links are skipped) is read in name order and cut at its `%` separator lines into entries.
/// `.sourceFiles(extension:)`: every file with that extension, in name order, is one entry. Entry
/// `i` of the whole sequence goes to validation when `i % validationEvery == 0`, to training
/// otherwise, each entry followed by a newline. The `fingerprint` — FNV-1a (64-bit) over every
/// file's name and bytes in that order — identifies the exact text, so a run can refuse data
/// other than the data a result was measured on (it guards against mix-ups, not tampering).
public struct TextCorpus: Sendable, Equatable {
  /// Where Debian's `fortunes` and `fortunes-min` packages put the collection.
  public static let fortunesFolder = "/usr/share/games/fortunes"
  /// The fingerprint of Debian's `fortunes` and `fortunes-min` 1:1.99.1-7.3 together.
  public static let debianFortunesFingerprint = "cc3d00f26b89af86"
  /// Where Debian's `libpython3.11-stdlib` puts the standard library's modules.
  public static let pythonFolder = "/usr/lib/python3.11"
  /// The fingerprint of the `.py` files directly in `pythonFolder` from Debian's
  /// `libpython3.11-stdlib` and `libpython3.11-minimal` 3.11.2-6+deb12u6.
  public static let debianPythonFingerprint = "4df10a36a3479b2e"

  /// How the files of a folder become entries.
  public enum Format: Sendable, Equatable {
    /// Files without an extension, cut at `%` lines (the fortunes format).
    case fortunes
    /// Files ending in `.extension`, one entry each (source code).
    case sourceFiles(extension: String)
  }

  /// Training text, one byte per token.
  public let training: [UInt8]
  /// Validation text, one byte per token.
  public let validation: [UInt8]
  /// Entries in each part.
  public let trainingEntries: Int, validationEntries: Int
  /// FNV-1a of the files read (see the type's summary), 16 hex digits.
  public let fingerprint: String

  /// The collection in `folder`, checked against `expectedFingerprint` when given.
  ///
  /// - Throws: `TextCorpusError.missing` when the folder holds no text file,
  ///   `.unreadable` for a file that cannot be read, `.fingerprintMismatch` when the text is
  ///   not the expected one.
  /// - Precondition: `validationEvery ≥ 2`.
  public init(
    folder: String = TextCorpus.fortunesFolder, format: Format = .fortunes, validationEvery: Int = 10,
    expectedFingerprint: String? = nil
  ) throws {
    precondition(validationEvery >= 2, "TextCorpus: validationEvery must be at least 2")
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
      .filter { name in
        switch format {
        case .fortunes: !name.contains(".")
        case .sourceFiles(let suffix): name.hasSuffix("." + suffix)
        }
      }.sorted()
    var files: [(String, [UInt8])] = []
    for name in names {
      let path = (folder as NSString).appendingPathComponent(name)
      var isFolder: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else {
        continue
      }
      guard let data = FileManager.default.contents(atPath: path) else {
        throw TextCorpusError.unreadable(path: path)
      }
      files.append((name, Array(data)))
    }
    guard !files.isEmpty else { throw TextCorpusError.missing(folder: folder) }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for (name, bytes) in files {
      for byte in Array(name.utf8) + [0] + bytes {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
      }
    }
    let fingerprint = String(hash, radix: 16).leftPadded(to: 16)
    if let expectedFingerprint, expectedFingerprint != fingerprint {
      throw TextCorpusError.fingerprintMismatch(
        folder: folder, expected: expectedFingerprint, found: fingerprint)
    }
    var (training, validation) = ([UInt8](), [UInt8]())
    var (trainingEntries, validationEntries) = (0, 0)
    var index = 0
    for (_, bytes) in files {
      for entry in format == .fortunes ? Self.entries(bytes) : [bytes] where !entry.isEmpty {
        if index % validationEvery == 0 {
          validation += entry + [10]
          validationEntries += 1
        } else {
          training += entry + [10]
          trainingEntries += 1
        }
        index += 1
      }
    }
    (self.training, self.validation, self.fingerprint) = (training, validation, fingerprint)
    (self.trainingEntries, self.validationEntries) = (trainingEntries, validationEntries)
  }

  /// The entries of a fortune file: the text between lines that are exactly `%`, without
  /// their trailing newline; empty entries dropped.
  static func entries(_ bytes: [UInt8]) -> [[UInt8]] {
    var entries: [[UInt8]] = []
    var current: [UInt8] = []
    for line in bytes.split(separator: 10, omittingEmptySubsequences: false) {
      if Array(line) == [37] {  // "%"
        if !current.isEmpty { entries.append(current) }
        current = []
      } else {
        if !current.isEmpty { current.append(10) }
        current += line
      }
    }
    while current.last == 10 { current.removeLast() }
    if !current.isEmpty { entries.append(current) }
    return entries
  }
}

/// Why a text corpus could not be read.
public enum TextCorpusError: Error, Equatable, CustomStringConvertible {
  /// The folder holds no text file (the packages are not installed).
  case missing(folder: String)
  /// A file of the folder cannot be read.
  case unreadable(path: String)
  /// The text differs from the one expected.
  case fingerprintMismatch(folder: String, expected: String, found: String)

  /// The problem, with what to do about it.
  public var description: String {
    switch self {
    case .missing(let folder):
      "no text in \(folder): install it with scripts/install-text.sh (Debian's fortunes, fortunes-min and libpython3.11-stdlib)"
    case .unreadable(let path): "cannot read \(path)"
    case .fingerprintMismatch(let folder, let expected, let found):
      "the text in \(folder) has fingerprint \(found), not \(expected): another version of the packages that install it"
    }
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
