import Foundation

/// The files one run writes, moved into place together: each is checked before any work
/// starts (`OutputPath.check`, and no two outputs share a path), written in full to a
/// temporary file beside its target and flushed to disk, and only when every one of them
/// is written do they replace their targets (one `rename` each, in the order staged). A
/// run that fails before `commit` — or a batch that is dropped uncommitted — removes its
/// temporaries and leaves every target as it was.
public final class OutputBatch {
  /// Why the batch refuses a path.
  public enum Problem: Error, Equatable, CustomStringConvertible {
    /// Two outputs of the run have the same path.
    case sharedPath(String)
    /// `stage` was given a path the batch was not made with.
    case notDeclared(String)

    /// The problem, naming the path.
    public var description: String {
      switch self {
      case .sharedPath(let path): "two outputs of this run are both \(path)"
      case .notDeclared(let path): "output \(path) was not declared when the run started"
      }
    }
  }

  private let targets: [String]
  private var staged: [(temporary: String, target: String)] = []
  private var committed = false

  /// A batch for these outputs of a run that reads `inputs`.
  ///
  /// - Throws: `OutputPath.Problem` for a path that is an input, a folder or in a missing
  ///   folder; `Problem.sharedPath` when two outputs coincide.
  public init(outputs: [String], inputs: [String]) throws {
    var seen: Set<String> = []
    for path in outputs {
      try OutputPath.check(path, inputs: inputs)
      guard seen.insert(OutputPath.resolved(path)).inserted else { throw Problem.sharedPath(path) }
    }
    targets = outputs
  }

  /// Writes `data` to a temporary file beside `path`, to take its place at `commit`.
  ///
  /// - Throws: `Problem.notDeclared`, or the file system's error naming the path.
  public func stage(_ data: Data, to path: String) throws {
    try stage(to: path) { try $0.write(contentsOf: data) }
  }

  /// Streams a file's contents to a temporary file beside `path` (flushed to disk), to
  /// take its place at `commit`.
  ///
  /// - Throws: `Problem.notDeclared`, what `body` throws, or `FileWriteError` naming `path`
  ///   for the file system's errors.
  public func stage(to path: String, streaming body: (FileHandle) throws -> Void) throws {
    guard targets.contains(path) else { throw Problem.notDeclared(path) }
    staged.append((try AtomicFile.writeTemporary(beside: path, body), path))
  }

  /// Moves every staged file into place.
  ///
  /// - Throws: `FileWriteError` naming the target that could not be replaced (targets
  ///   before it in the batch are then already replaced; the rest are not).
  public func commit() throws {
    for (temporary, target) in staged where rename(temporary, target) != 0 {
      throw FileWriteError.fromErrno(path: target)
    }
    committed = true
  }

  deinit {
    guard !committed else { return }
    for (temporary, _) in staged { try? FileManager.default.removeItem(atPath: temporary) }
  }
}
