import Foundation
import ModelIO
import Testing

/// The text corpus: entries cut at `%` lines, blank lines or files, every tenth to validation,
/// a fingerprint that follows the bytes and is recorded, not enforced, and errors that say what
/// to install or give.
@Suite struct TextCorpusTests {
  /// Two files, five entries; with validation every 2nd entry: entries 0, 2, 4 validate.
  @Test func splitsEntriesDeterministically() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-text-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try Data("one\n%\ntwo\nlines\n%\nthree\n".utf8).write(to: folder.appendingPathComponent("a"))
    try Data("four\n%\n%\nfive\n%\n".utf8).write(to: folder.appendingPathComponent("b"))
    try Data("ignored".utf8).write(to: folder.appendingPathComponent("a.dat"))
    let corpus = try TextCorpus(path: folder.path, validationEvery: 2)
    #expect(String(decoding: corpus.validation, as: UTF8.self) == "one\nthree\nfive\n")
    #expect(String(decoding: corpus.training, as: UTF8.self) == "two\nlines\nfour\n")
    #expect(corpus.trainingEntries == 2 && corpus.validationEntries == 3)
    #expect(try TextCorpus(path: folder.path, validationEvery: 2).fingerprint == corpus.fingerprint)
    try Data("four\n%\n%\nfive!\n%\n".utf8).write(to: folder.appendingPathComponent("b"))
    let changed = try TextCorpus(path: folder.path, validationEvery: 2)
    #expect(changed.fingerprint != corpus.fingerprint && changed.fingerprint.count == 16)
    #expect(
      changed.record.hasSuffix("fingerprint \(changed.fingerprint), not a recorded text"), "\(changed.record)"
    )
  }

  /// Source files: one entry per file with the extension, others ignored.
  @Test func sourceFilesAreOneEntryEach() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-source-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try Data("a = 1\n%\n".utf8).write(to: folder.appendingPathComponent("a.py"))
    try Data("b = 2".utf8).write(to: folder.appendingPathComponent("b.py"))
    try Data("not python".utf8).write(to: folder.appendingPathComponent("c.txt"))
    let corpus = try TextCorpus(
      path: folder.path, format: .sourceFiles(extension: "py"), validationEvery: 2)
    #expect(String(decoding: corpus.validation, as: UTF8.self) == "a = 1\n%\n\n")
    #expect(String(decoding: corpus.training, as: UTF8.self) == "b = 2\n")
    #expect(throws: TextCorpusError.missing(path: folder.path)) {
      _ = try TextCorpus(path: folder.path, format: .sourceFiles(extension: "rs"))
    }
  }

  @Test func aMissingCollectionSaysWhatToInstall() {
    #expect(throws: TextCorpusError.missing(path: "/nonexistent")) {
      _ = try TextCorpus(path: "/nonexistent")
    }
    #expect("\(TextCorpusError.missing(path: TextCorpus.fortunesFolder))".contains("scripts/install-text.sh"))
    #expect("\(TextCorpusError.missing(path: "/x/my.txt"))".contains("/x/my.txt"))
  }

  /// A user's own file: paragraphs (blank lines, even with spaces) are the entries; a file
  /// with too few of them for the rule, and a rule below 2, are errors naming them.
  @Test func aUsersFileIsCutIntoParagraphs() throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-text-\(UInt64.random(in: 0..<1 << 40)).txt")
    defer { try? FileManager.default.removeItem(at: file) }
    try Data("first para\nline two\n\nsecond\n  \n\n\nthird\n\nfourth\n".utf8).write(to: file)
    let corpus = try TextCorpus(path: file.path, format: .paragraphs, validationEvery: 3)
    #expect(String(decoding: corpus.validation, as: UTF8.self) == "first para\nline two\nfourth\n")
    #expect(String(decoding: corpus.training, as: UTF8.self) == "second\nthird\n")
    #expect(corpus.record.hasPrefix(file.path + ": 13 training / 27 validation bytes"), "\(corpus.record)")
    try Data("only one paragraph\n".utf8).write(to: file)
    #expect(throws: TextCorpusError.tooFewEntries(path: file.path, entries: 1, validationEvery: 10)) {
      _ = try TextCorpus(path: file.path, format: .paragraphs)
    }
    #expect(throws: TextCorpusError.badValidationRule(1)) {
      _ = try TextCorpus(path: file.path, format: .paragraphs, validationEvery: 1)
    }
  }

  /// Debian's fortunes, when installed (`scripts/install-text.sh`), read whatever revision
  /// the machine has: the fingerprint is reported, and named when it is a recorded one.
  @Test(.enabled(if: FileManager.default.fileExists(atPath: TextCorpus.fortunesFolder + "/pratchett")))
  func theInstalledCollectionReadsAndIsRecorded() throws {
    let corpus = try TextCorpus()
    #expect(corpus.training.count > 2_000_000 && corpus.validationEntries > 1000)
    let name = TextCorpus.recordedTexts[corpus.fingerprint]
    #expect(corpus.record.contains(name ?? "not a recorded text"), "\(corpus.record)")
  }

  /// Debian's Python 3.11 standard library, when installed, in any revision.
  @Test(.enabled(if: FileManager.default.fileExists(atPath: TextCorpus.pythonFolder + "/difflib.py")))
  func theInstalledPythonLibraryReads() throws {
    let corpus = try TextCorpus(path: TextCorpus.pythonFolder, format: .sourceFiles(extension: "py"))
    #expect(corpus.training.count > 3_000_000 && corpus.validationEntries > 10)
  }
}
