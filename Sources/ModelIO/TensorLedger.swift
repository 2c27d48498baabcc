import Foundation
import Linalg

/// The tensor names a loader has read, so that it can tell which tensors of a checkpoint
/// nothing used (a sign that the file and its `config.json` disagree).
final class TensorLedger: @unchecked Sendable {
  private var names: Set<String> = []
  private var compacts: [String: WeightMatrix] = [:]
  private var products: [ObjectIdentifier: String] = [:]
  private let lock = NSLock()

  /// Notes that the tensor `name` is held as `matrix`.
  func record(_ name: String, heldAs matrix: WeightMatrix) {
    lock.lock()
    defer { lock.unlock() }
    compacts[name] = matrix
  }

  /// Names the matrix a product multiplies by (after any reordering of its rows): the
  /// tensor's name, or `name#e` for expert `e` of a fused tensor.
  func name(product matrix: WeightMatrix, _ name: String) {
    lock.lock()
    defer { lock.unlock() }
    products[matrix.storageIdentifier] = name
  }

  /// The names of the products' matrices, by `WeightMatrix.storageIdentifier`.
  var productNames: [ObjectIdentifier: String] {
    lock.lock()
    defer { lock.unlock() }
    return products
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
