import Foundation

/// Checks, before any work starts, that a run may write a file at a path: the path must
/// not be one of the run's inputs (nor a file already inside an input folder — a new file
/// there is fine), must not be a folder, and its folder must exist.
public enum OutputPath {
  /// Why a path cannot take an output.
  public enum Problem: Error, Equatable, CustomStringConvertible {
    /// The path is (or lies inside) an input of the same run.
    case isAnInput(path: String, input: String)
    /// The path is a folder.
    case isAFolder(String)
    /// The folder the file would go into does not exist.
    case missingFolder(path: String, folder: String)
    /// An output folder's path names a file.
    case isAFile(String)

    /// The problem, naming the path.
    public var description: String {
      switch self {
      case .isAnInput(let path, let input): "output \(path) would overwrite the input \(input)"
      case .isAFolder(let path): "output \(path) is a folder, not a file"
      case .missingFolder(let path, let folder): "output \(path) is in \(folder), which does not exist"
      case .isAFile(let path): "output folder \(path) is a file, not a folder"
      }
    }
  }

  /// Throws `Problem.isAFile` when `path`, a folder for a run's outputs, names something
  /// that is not a folder (a missing folder is fine: `makeFolder` creates it).
  public static func checkFolder(_ path: String) throws {
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
      throw Problem.isAFile(path)
    }
  }

  /// Creates the output folder `path` (and its parents) unless it exists.
  ///
  /// - Throws: `Problem.isAFile`, or `FileWriteError` naming `path`.
  public static func makeFolder(_ path: String) throws {
    try checkFolder(path)
    do {
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
      throw FileWriteError(path: path, error: error)
    }
  }

  /// `path` absolute, with `.`, `..` and symbolic links resolved: the form in which a run's
  /// outputs and inputs are compared.
  public static func resolved(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
  }

  /// Whether `a` and `b` are the same path or one lies inside the other: two outputs of a run
  /// (a file and a folder, say) that would overwrite each other.
  public static func overlap(_ a: String, _ b: String) -> Bool {
    let (a, b) = (resolved(a), resolved(b))
    return a == b || a.hasPrefix(b + "/") || b.hasPrefix(a + "/")
  }

  /// Throws `Problem` when `path` cannot take an output of a run that reads `inputs`.
  public static func check(_ path: String, inputs: [String]) throws {
    let target = URL(fileURLWithPath: resolved(path))
    for input in inputs {
      let source = URL(fileURLWithPath: resolved(input))
      let inside =
        target.path.hasPrefix(source.path + "/") && FileManager.default.fileExists(atPath: target.path)
      if target.path == source.path || inside {
        throw Problem.isAnInput(path: path, input: input)
      }
    }
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: target.path, isDirectory: &isFolder), isFolder.boolValue {
      throw Problem.isAFolder(path)
    }
    let folder = target.deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
      throw Problem.missingFolder(path: path, folder: folder)
    }
  }
}
