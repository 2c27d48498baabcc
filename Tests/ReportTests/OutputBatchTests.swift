import Foundation
import Report
import Testing

/// A run's outputs move into place together: nothing replaced until every one is written,
/// temporaries gone either way, and bad paths refused before any work.
@Suite struct OutputBatchTests {
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
    "moekit-batch-\(UInt64.random(in: 0..<1 << 40))")

  init() throws { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  func contents() throws -> [String: String] {
    var files: [String: String] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
      files[name] = try String(contentsOfFile: path(name), encoding: .utf8)
    }
    return files
  }

  @Test func outputsAppearOnlyAtCommit() throws {
    defer { try? FileManager.default.removeItem(at: folder) }
    try "old a".write(toFile: path("a.txt"), atomically: false, encoding: .utf8)
    let batch = try OutputBatch(outputs: [path("a.txt"), path("b.txt")], inputs: [])
    try batch.stage(Data("new a".utf8), to: path("a.txt"))
    try batch.stage(to: path("b.txt")) { try $0.write(contentsOf: Data("new b".utf8)) }
    #expect(try contents().filter { !$0.key.hasPrefix(".") } == ["a.txt": "old a"])
    try batch.commit()
    #expect(try contents() == ["a.txt": "new a", "b.txt": "new b"])
  }

  /// The second output fails while being written: the first target keeps its old
  /// contents and no temporary remains once the batch is gone.
  @Test func aFailedOutputReplacesNothing() throws {
    defer { try? FileManager.default.removeItem(at: folder) }
    try "old a".write(toFile: path("a.txt"), atomically: false, encoding: .utf8)
    struct Failure: Error {}
    do {
      let batch = try OutputBatch(outputs: [path("a.txt"), path("b.txt")], inputs: [])
      try batch.stage(Data("new a".utf8), to: path("a.txt"))
      #expect(throws: Failure.self) { try batch.stage(to: path("b.txt")) { _ in throw Failure() } }
    }
    #expect(try contents() == ["a.txt": "old a"])
  }

  @Test func badPathsAreRefusedUpFront() throws {
    defer { try? FileManager.default.removeItem(at: folder) }
    try "input".write(toFile: path("in.txt"), atomically: false, encoding: .utf8)
    #expect(throws: OutputPath.Problem.isAnInput(path: path("in.txt"), input: path("in.txt"))) {
      _ = try OutputBatch(outputs: [path("in.txt")], inputs: [path("in.txt")])
    }
    #expect(throws: OutputBatch.Problem.sharedPath(path("./x.txt"))) {
      _ = try OutputBatch(outputs: [path("x.txt"), path("./x.txt")], inputs: [])
    }
    #expect(throws: OutputPath.Problem.self) { _ = try OutputBatch(outputs: [path("no/x.txt")], inputs: []) }
    let batch = try OutputBatch(outputs: [path("x.txt")], inputs: [])
    #expect(throws: OutputBatch.Problem.notDeclared(path("y.txt"))) {
      try batch.stage(Data(), to: path("y.txt"))
    }
    #expect(throws: OutputPath.Problem.isAFile(path("in.txt"))) { try OutputPath.checkFolder(path("in.txt")) }
  }
}
