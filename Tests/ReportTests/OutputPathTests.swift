import Foundation
import Report
import Testing

@Suite struct OutputPathTests {
  @Test func refusesInputsFoldersAndMissingFolders() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "moekit-output-\(UInt64.random(in: 0..<1 << 40))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let input = folder.appendingPathComponent("in.npy").path
    _ = FileManager.default.createFile(atPath: input, contents: Data([1]))
    #expect(throws: OutputPath.Problem.isAnInput(path: input, input: input)) {
      try OutputPath.check(input, inputs: [input])
    }
    // The same file reached through "./" and "..".
    let roundabout = folder.appendingPathComponent("sub/../in.npy").path
    #expect(throws: OutputPath.Problem.isAnInput(path: roundabout, input: input)) {
      try OutputPath.check(roundabout, inputs: [input])
    }
    #expect(throws: OutputPath.Problem.isAnInput(path: input, input: folder.path)) {
      try OutputPath.check(input, inputs: [folder.path])
    }
    try OutputPath.check(folder.appendingPathComponent("new.npy").path, inputs: [folder.path])
    #expect(throws: OutputPath.Problem.isAFolder(folder.path)) {
      try OutputPath.check(folder.path, inputs: [])
    }
    let missing = folder.appendingPathComponent("nowhere/out.npy").path
    #expect(
      throws: OutputPath.Problem.missingFolder(
        path: missing, folder: folder.appendingPathComponent("nowhere").path)
    ) {
      try OutputPath.check(missing, inputs: [])
    }
  }
}
