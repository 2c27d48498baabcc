import Foundation
import ModelIO
import Testing

/// The text corpus: entries cut at `%` lines, every tenth to validation, a fingerprint that
/// follows the bytes, and errors that say what to install.
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
    let corpus = try TextCorpus(folder: folder.path, validationEvery: 2)
    #expect(String(decoding: corpus.validation, as: UTF8.self) == "one\nthree\nfive\n")
    #expect(String(decoding: corpus.training, as: UTF8.self) == "two\nlines\nfour\n")
    #expect(corpus.trainingEntries == 2 && corpus.validationEntries == 3)
    #expect(try TextCorpus(folder: folder.path, validationEvery: 2).fingerprint == corpus.fingerprint)
    try Data("four\n%\n%\nfive!\n%\n".utf8).write(to: folder.appendingPathComponent("b"))
    let changed = try TextCorpus(folder: folder.path, validationEvery: 2)
    #expect(changed.fingerprint != corpus.fingerprint && changed.fingerprint.count == 16)
    #expect(throws: TextCorpusError.self) {
      _ = try TextCorpus(folder: folder.path, expectedFingerprint: corpus.fingerprint)
    }
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
      folder: folder.path, format: .sourceFiles(extension: "py"), validationEvery: 2)
    #expect(String(decoding: corpus.validation, as: UTF8.self) == "a = 1\n%\n\n")
    #expect(String(decoding: corpus.training, as: UTF8.self) == "b = 2\n")
    #expect(throws: TextCorpusError.missing(folder: folder.path)) {
      _ = try TextCorpus(folder: folder.path, format: .sourceFiles(extension: "rs"))
    }
  }

  @Test func aMissingCollectionSaysWhatToInstall() {
    #expect(throws: TextCorpusError.missing(folder: "/nonexistent")) {
      _ = try TextCorpus(folder: "/nonexistent")
    }
    #expect("\(TextCorpusError.missing(folder: "/x"))".contains("scripts/install-text.sh"))
  }

  /// Debian's fortunes 1:1.99.1-7.3, when installed (`scripts/install-text.sh`), is the text
  /// whose fingerprint is recorded.
  @Test(.enabled(if: FileManager.default.fileExists(atPath: TextCorpus.fortunesFolder + "/pratchett")))
  func theInstalledCollectionIsTheRecordedOne() throws {
    let corpus = try TextCorpus()
    #expect(corpus.fingerprint == TextCorpus.debianFortunesFingerprint, "\(corpus.fingerprint)")
    #expect(corpus.training.count > 2_000_000 && corpus.validationEntries > 1000)
  }

  /// Debian's Python 3.11 standard library (libpython3.11-stdlib 3.11.2-6+deb12u6), when
  /// installed, is the source whose fingerprint is recorded.
  @Test(.enabled(if: FileManager.default.fileExists(atPath: TextCorpus.pythonFolder + "/difflib.py")))
  func theInstalledPythonLibraryIsTheRecordedOne() throws {
    let corpus = try TextCorpus(folder: TextCorpus.pythonFolder, format: .sourceFiles(extension: "py"))
    #expect(corpus.fingerprint == TextCorpus.debianPythonFingerprint, "\(corpus.fingerprint)")
    #expect(corpus.training.count > 3_000_000 && corpus.validationEntries > 10)
  }
}
