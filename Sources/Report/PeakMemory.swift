import Foundation

/// The process's peak resident memory, which one program can reset between the
/// configurations it measures in turn.
///
/// On Linux the peak is the kernel's high-water mark `VmHWM` (in `/proc/self/status`),
/// and writing `5` to `/proc/self/clear_refs` resets it to the current resident size.
/// Elsewhere both answer `nil`/`false`.
public enum PeakMemory {
  /// Resets the peak to the memory resident now.
  ///
  /// - Returns: whether the system allowed it.
  @discardableResult
  public static func reset() -> Bool {
    guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? handle.close() }
    return (try? handle.write(contentsOf: Data("5".utf8))) != nil
  }

  /// Bytes resident at the peak since the process started or the last `reset`, or `nil`
  /// where the system does not say.
  public static var bytes: Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
      // "VmHWM:\t   13500 kB": a tab, then padding spaces that large values leave out.
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard fields.count >= 3, let kilobytes = Int(fields[1]) else { return nil }
      return kilobytes * 1024
    }
    return nil
  }
}
