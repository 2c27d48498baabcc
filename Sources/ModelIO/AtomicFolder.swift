import Foundation
import Report

/// A model folder that appears whole or not at all: everything is written into a temporary
/// sibling, which is renamed into place at the end (a folder already there is moved aside
/// first and removed once the new one is in place). A failure removes the temporary folder
/// and leaves the target as it was.
enum AtomicFolder {
  /// Writes `folder` through `body`, which is given the temporary folder's path.
  ///
  /// - Throws: `CheckpointError.unreadableModel` when the folder's parent does not exist,
  ///   `FileWriteError` naming `folder` (never the temporary folder) when it cannot be written
  ///   or moved into place, and what `body` throws.
  static func write(_ folder: String, _ body: (String) throws -> Void) throws {
    let target = URL(fileURLWithPath: folder).standardizedFileURL
    let parent = target.deletingLastPathComponent()
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isFolder), isFolder.boolValue
    else {
      throw CheckpointError.unreadableModel(path: folder, reason: "its folder \(parent.path) does not exist")
    }
    let suffix = UInt64.random(in: 0..<UInt64.max)
    let temporary = parent.appendingPathComponent(".\(target.lastPathComponent).\(suffix).partial")
    let previous = parent.appendingPathComponent(".\(target.lastPathComponent).\(suffix).old")
    guard mkdir(temporary.path, 0o755) == 0 else {
      throw FileWriteError(path: folder, reason: String(cString: strerror(errno)))
    }
    do {
      do {
        try body(temporary.path)
      } catch let error as FileWriteError {
        // Name the file as the user will find it, not inside the temporary folder.
        throw FileWriteError(
          path: error.path.replacingOccurrences(of: temporary.path, with: target.path), reason: error.reason)
      }
      let replacing = FileManager.default.fileExists(atPath: target.path)
      if replacing, rename(target.path, previous.path) != 0 {
        throw FileWriteError(path: folder, reason: String(cString: strerror(errno)))
      }
      guard rename(temporary.path, target.path) == 0 else {
        throw FileWriteError(path: folder, reason: String(cString: strerror(errno)))
      }
      if replacing { try? FileManager.default.removeItem(at: previous) }
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw error
    }
  }
}
