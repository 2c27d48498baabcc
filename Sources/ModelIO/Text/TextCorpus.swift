import Foundation

/// Real text for language-model experiments, as bytes, split deterministically into
/// training and validation text: a user's own file or folder, or the defaults — the English
/// `fortunes` collection and, as a second domain, the Python standard library's source, as
/// Debian installs them (`scripts/install-text.sh`).
///
/// `.fortunes`: every file of the folder without an extension (the `.dat` indexes and `.u8`
/// links are skipped) is read in name order and cut at its `%` separator lines into entries.
/// `.sourceFiles(extension:)`: every file with that extension, in name order, is one entry.
/// `.paragraphs`: every file not starting with `.` (or the one file given), in name order, cut
/// at blank lines. Entry `i` of the whole sequence goes to validation when
/// `i % validationEvery == 0`, to training otherwise, each entry followed by a newline.
///
/// The `fingerprint` — FNV-1a (64-bit) over every file's name and bytes in that order —
/// identifies the exact text. It is a record printed beside every result, never a reason to
/// refuse: Debian replaces packages under the same name (point releases, security updates),
/// so the text on a new machine may differ from the text a published figure was measured on.
/// `recordedTexts` names the fingerprints of the texts MoEKit's documented figures used.
public struct TextCorpus: Sendable, Equatable {
  /// Where Debian's `fortunes` and `fortunes-min` packages put the collection.
  public static let fortunesFolder = "/usr/share/games/fortunes"
  /// Where Debian's `libpython3.11-stdlib` puts the standard library's modules.
  public static let pythonFolder = "/usr/lib/python3.11"
  /// Fingerprints of texts MoEKit's documented figures were measured on, with what each is.
  public static let recordedTexts: [String: String] = [
    "cc3d00f26b89af86": "Debian 12 fortunes + fortunes-min 1:1.99.1-7.3",
    "4df10a36a3479b2e": "Debian 12 libpython3.11-stdlib 3.11.2-6+deb12u6",
  ]

  /// How the files of a folder (or one file) become entries.
  public enum Format: Sendable, Equatable {
    /// Files without an extension, cut at `%` lines (the fortunes format).
    case fortunes
    /// Files ending in `.extension`, one entry each (source code).
    case sourceFiles(extension: String)
    /// Files whose name does not start with `.`, cut at blank lines (any text).
    case paragraphs
  }

  /// Training text, one byte per token.
  public let training: [UInt8]
  /// Validation text, one byte per token.
  public let validation: [UInt8]
  /// Entries in each part.
  public let trainingEntries: Int, validationEntries: Int
  /// FNV-1a of the files read (see the type's summary), 16 hex digits.
  public let fingerprint: String
  /// The file or folder read.
  public let path: String

  /// What the text is, for a result's record: its path, size, fingerprint and, when the
  /// fingerprint is one of `recordedTexts`, its name.
  public var record: String {
    let known = Self.recordedTexts[fingerprint].map { " = \($0)" } ?? ", not a recorded text"
    return
      "\(path): \(training.count) training / \(validation.count) validation bytes, fingerprint \(fingerprint)\(known)"
  }

  /// The text at `path` — a folder, or one file (then its name need not match `format`'s
  /// filter) — split every `validationEvery`-th entry to validation.
  ///
  /// - Throws: `TextCorpusError.missing` when there is no such file or folder or it holds no
  ///   text file, `.unreadable` for a file that cannot be read, `.tooFewEntries` when the split
  ///   leaves the training or the validation part empty, `.badValidationRule` when
  ///   `validationEvery < 2`.
  public init(
    path: String = TextCorpus.fortunesFolder, format: Format = .fortunes, validationEvery: Int = 10
  ) throws {
    guard validationEvery >= 2 else { throw TextCorpusError.badValidationRule(validationEvery) }
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
      throw TextCorpusError.missing(path: path)
    }
    let names =
      isFolder.boolValue
      ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { name in
        switch format {
        case .fortunes: !name.contains(".")
        case .sourceFiles(let suffix): name.hasSuffix("." + suffix)
        case .paragraphs: !name.hasPrefix(".")
        }
      }.sorted()
      : [""]
    var files: [(String, [UInt8])] = []
    for name in names {
      let file = name.isEmpty ? path : (path as NSString).appendingPathComponent(name)
      var isSubfolder: ObjCBool = false
      guard FileManager.default.fileExists(atPath: file, isDirectory: &isSubfolder), !isSubfolder.boolValue
      else { continue }
      guard let data = FileManager.default.contents(atPath: file) else {
        throw TextCorpusError.unreadable(path: file)
      }
      files.append((name.isEmpty ? (path as NSString).lastPathComponent : name, Array(data)))
    }
    guard !files.isEmpty else { throw TextCorpusError.missing(path: path) }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for (name, bytes) in files {
      for byte in Array(name.utf8) + [0] + bytes {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
      }
    }
    var (training, validation) = ([UInt8](), [UInt8]())
    var (trainingEntries, validationEntries) = (0, 0)
    var index = 0
    for (_, bytes) in files {
      let entries: [[UInt8]] =
        switch format {
        case .fortunes: Self.entries(bytes, separatedBy: { $0 == [37] })  // "%"
        case .sourceFiles: [bytes]
        case .paragraphs:
          Self.entries(bytes, separatedBy: { $0.allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 } })
        }
      for entry in entries where !entry.isEmpty {
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
    guard trainingEntries > 0, validationEntries > 0 else {
      throw TextCorpusError.tooFewEntries(path: path, entries: index, validationEvery: validationEvery)
    }
    self.path = path
    self.fingerprint = String(hash, radix: 16).leftPadded(to: 16)
    (self.training, self.validation) = (training, validation)
    (self.trainingEntries, self.validationEntries) = (trainingEntries, validationEntries)
  }

  /// The entries of a file: the text between separator lines, without their trailing
  /// newline; empty entries dropped.
  static func entries(_ bytes: [UInt8], separatedBy isSeparator: ([UInt8]) -> Bool) -> [[UInt8]] {
    var entries: [[UInt8]] = []
    var current: [UInt8] = []
    for line in bytes.split(separator: 10, omittingEmptySubsequences: false) {
      if isSeparator(Array(line)) {
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
  /// No such file or folder, or the folder holds no text file (the packages are not installed).
  case missing(path: String)
  /// A file cannot be read.
  case unreadable(path: String)
  /// The split leaves no training or no validation entry.
  case tooFewEntries(path: String, entries: Int, validationEvery: Int)
  /// The validation rule is not "every n-th entry" with n ≥ 2.
  case badValidationRule(Int)

  /// The problem, with what to do about it.
  public var description: String {
    switch self {
    case .missing(let path) where path == TextCorpus.fortunesFolder || path == TextCorpus.pythonFolder:
      "no text in \(path): install it with scripts/install-text.sh (Debian's fortunes, fortunes-min and libpython3.11-stdlib), or give your own"
    case .missing(let path): "no text at \(path): give a text file or a folder of them"
    case .unreadable(let path): "cannot read \(path)"
    case .tooFewEntries(let path, let entries, let every):
      "\(path) holds \(entries) entr\(entries == 1 ? "y" : "ies") (paragraphs, fortunes or files): every \(every)th goes to validation, so it needs at least 2 and more than one in \(every) to train on"
    case .badValidationRule(let every): "validation every \(every)th entry: the rule needs 2 or more"
    }
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}
