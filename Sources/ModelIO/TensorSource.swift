import CostModel
import Foundation
import Linalg

/// Where named weight tensors come from: one safetensors file, or a sharded checkpoint.
public protocol TensorSource: Sendable {
  /// Whether a tensor of that name exists.
  func contains(_ name: String) -> Bool
  /// Every tensor's name, sorted.
  var names: [String] { get }
  /// The shape of the named tensor.
  func shape(of name: String) throws -> [Int]
  /// The named floating-point tensor as a matrix (see `SafeTensorsFile.matrix`).
  func matrix<Scalar: BLASScalar>(_ name: String, as: Scalar.Type) throws -> Matrix<Scalar>
  /// The element type the named tensor is stored in.
  func dataType(of name: String) throws -> SafeTensorsDataType
  /// The named 2-D bf16 tensor as a `WeightMatrix` over the mapped bytes (no copy), or
  /// `nil` when it is stored otherwise.
  func compactMatrix(_ name: String) throws -> WeightMatrix?
  /// The stored bytes of the named tensor (valid while the source lives).
  func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer
  /// The compact `WeightMatrix` format the named tensor is stored in (what `compactMatrix`
  /// gives), or `nil` for plain floats; by default bf16 for a BF16 tensor.
  func compactFormat(of name: String) throws -> WeightMatrix.Format?
}

extension TensorSource {
  /// bf16 for a BF16 tensor, else `nil`.
  public func compactFormat(of name: String) throws -> WeightMatrix.Format? {
    try dataType(of: name) == .bf16 ? .bf16 : nil
  }
}

extension SafeTensorsFile: TensorSource {
  /// Whether a tensor of that name exists.
  public func contains(_ name: String) -> Bool { tensors[name] != nil }

  /// The shape of the named tensor.
  public func shape(of name: String) throws -> [Int] { try info(name).shape }

  /// The element type the named tensor is stored in.
  public func dataType(of name: String) throws -> SafeTensorsDataType { try info(name).dataType }

  /// The named 2-D bf16 tensor over the mapped bytes, or `nil` when stored otherwise (or
  /// misaligned, which a valid safetensors file never is for bf16).
  public func compactMatrix(_ name: String) throws -> WeightMatrix? {
    let info = try info(name)
    let raw = bytes(of: info)
    guard info.dataType == .bf16, info.shape.count == 2, Int(bitPattern: raw.baseAddress) % 2 == 0 else {
      return nil
    }
    return WeightMatrix(bf16: raw, rows: info.shape[0], columns: info.shape[1], owner: file)
  }

  /// The stored bytes of the named tensor.
  public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer { bytes(of: try info(name)) }
}

/// A checkpoint split over several safetensors files, listed by a
/// `model.safetensors.index.json` whose `weight_map` maps each tensor name to its file
/// (relative to the index's folder). Files are opened when first needed.
public struct ShardedCheckpoint: TensorSource {
  /// Tensor name → shard file name.
  public let weightMap: [String: String]
  let shards: [String: SafeTensorsFile]

  /// Reads the index at `path` and maps (or, with `access: .read`, reads) every shard it names.
  ///
  /// - Throws: `SafeTensorsError` for an unreadable or malformed index or shard.
  public init(indexFile path: String, access: FileAccess = .mapped) throws {
    let data: Data
    do {
      data = try InputFile.contents(of: path)
    } catch {
      throw SafeTensorsError.unreadableFile(path: path, reason: "\(error)")
    }
    guard case .object(let top)? = try? JSONValue.parse(data), case .object(let map)? = top["weight_map"]
    else {
      throw SafeTensorsError.invalidHeader(reason: "\(path): an index needs a \"weight_map\" object")
    }
    var weightMap: [String: String] = [:]
    for (name, file) in map {
      guard case .string(let shard) = file, !shard.contains("/") else {
        throw SafeTensorsError.invalidTensorEntry(
          name: name, problem: "weight_map entry must be a file name in the index's folder")
      }
      weightMap[name] = shard
    }
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
    var shards: [String: SafeTensorsFile] = [:]
    for shard in Set(weightMap.values) {
      shards[shard] = try SafeTensorsFile(
        contentsOfFile: folder.appendingPathComponent(shard).path, access: access)
    }
    self.weightMap = weightMap
    self.shards = shards
  }

  func file(for name: String) throws -> SafeTensorsFile {
    guard let shard = weightMap[name], let file = shards[shard], file.contains(name) else {
      throw SafeTensorsError.tensorNotFound(name)
    }
    return file
  }

  /// Every tensor the index lists, sorted.
  public var names: [String] { weightMap.keys.sorted() }

  /// Whether the index lists the tensor and its shard holds it.
  public func contains(_ name: String) -> Bool { (try? file(for: name)) != nil }

  /// The shape of the named tensor.
  public func shape(of name: String) throws -> [Int] { try file(for: name).shape(of: name) }

  /// The named tensor as a matrix.
  public func matrix<Scalar: BLASScalar>(_ name: String, as: Scalar.Type) throws -> Matrix<Scalar> {
    try file(for: name).matrix(name, as: Scalar.self)
  }

  /// The element type the named tensor is stored in.
  public func dataType(of name: String) throws -> SafeTensorsDataType {
    try file(for: name).dataType(of: name)
  }

  /// The named 2-D bf16 tensor over its shard's mapped bytes, or `nil`.
  public func compactMatrix(_ name: String) throws -> WeightMatrix? {
    try file(for: name).compactMatrix(name)
  }

  /// The stored bytes of the named tensor.
  public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer { try file(for: name).rawBytes(name) }
}
