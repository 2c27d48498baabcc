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
}
