import ArgumentParser
import CostModel
import Foundation

/// A UTF-8 text file an option names (`--text`, `--calibration-text`, …), read whole.
public enum TextFile {
  /// The text at `path` and its size in bytes; an unreadable file (or one over 1 GiB) or one
  /// that is not UTF-8 is a `ValidationError` naming `option` and `path`.
  public static func read(_ path: String, option: String) throws -> (text: String, bytes: Int) {
    let data: Data
    do {
      data = try InputFile.contents(of: path, limit: 1 << 30)
    } catch {
      throw ValidationError("\(option) \(path): \(error)")
    }
    guard let text = String(validating: data, as: UTF8.self) else {
      throw ValidationError("\(option) \(path) is not UTF-8")
    }
    return (text, data.count)
  }
}
