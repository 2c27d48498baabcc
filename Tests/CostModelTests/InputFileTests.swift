import CostModel
import Foundation
import Testing

@Suite struct InputFileTests {
  @Test func readsRegularFilesAndNamesEverythingElse() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-input-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("a.json").path
    _ = FileManager.default.createFile(atPath: file, contents: Data("{}".utf8))
    #expect(try InputFile.contents(of: file) == Data("{}".utf8))
    #expect(throws: InputFile.Problem.tooLarge(bytes: 2, limit: 1)) {
      try InputFile.contents(of: file, limit: 1)
    }
    #expect(throws: InputFile.Problem.missing) { try InputFile.contents(of: file + ".nothing") }
    #expect(throws: InputFile.Problem.notARegularFile(kind: "a folder")) {
      try InputFile.contents(of: folder.path)
    }
    let fifo = folder.appendingPathComponent("pipe").path
    #expect(mkfifo(fifo, 0o600) == 0)
    #expect(throws: InputFile.Problem.notARegularFile(kind: "a FIFO or special file")) {
      try InputFile.contents(of: fifo)
    }
  }

  /// A Hugging Face cache lays snapshots out as relative links into `blobs/`: links that
  /// resolve are read; only a link to nothing is refused as dangling.
  @Test func followsLinksThatResolve() throws {
    let cache = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-hub-\(UInt64.random(in: 0..<1 << 40))")
    let snapshot = cache.appendingPathComponent("snapshots/abc123")
    try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      at: cache.appendingPathComponent("blobs"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: cache) }
    try Data("{\"a\": 1}".utf8).write(to: cache.appendingPathComponent("blobs/5f3e"))
    let config = snapshot.appendingPathComponent("config.json").path
    try FileManager.default.createSymbolicLink(atPath: config, withDestinationPath: "../../blobs/5f3e")
    #expect(try InputFile.contents(of: config) == Data("{\"a\": 1}".utf8))
    let dangling = snapshot.appendingPathComponent("tokenizer.json").path
    try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: "../../blobs/none")
    #expect(throws: InputFile.Problem.notARegularFile(kind: "a dangling link")) {
      try InputFile.contents(of: dangling)
    }
  }
}
