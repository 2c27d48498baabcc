import Foundation
import Linalg

/// The tensor names a loader has read, so that it can tell which tensors of a checkpoint
/// nothing used (a sign that the file and its `config.json` disagree).
final class TensorLedger: @unchecked Sendable {
  private var names: Set<String> = []
  private var compacts: [String: WeightMatrix] = [:]
  private let lock = NSLock()

  /// Notes that the tensor `name` is held as `matrix`.
  func record(_ name: String, heldAs matrix: WeightMatrix) {
    lock.lock()
    defer { lock.unlock() }
    compacts[name] = matrix
  }

  /// The compact matrices the tensors are held as, by name.
  var compactMatrices: [String: WeightMatrix] {
    lock.lock()
    defer { lock.unlock() }
    return compacts
  }

  /// Notes that `name` was read.
  func record(_ name: String) {
    lock.lock()
    defer { lock.unlock() }
    names.insert(name)
  }

  /// The names of `all` that were never read, sorted.
  func unread(of all: [String]) -> [String] {
    lock.lock()
    defer { lock.unlock() }
    return all.filter { !names.contains($0) }.sorted()
  }
}
