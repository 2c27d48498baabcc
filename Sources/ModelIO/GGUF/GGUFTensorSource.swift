import Foundation
import Linalg

/// A GGUF file's tensors under the Hugging Face names of the family its architecture maps to
/// (`GGUFArchitecture`), for `HuggingFaceCheckpoint`: each expert of a stacked `ffn_*_exps`
/// tensor is a matrix of its own (a slice of the mapped bytes), compact tensors are
/// `WeightMatrix`es where they lie (Q8_0 and Q4_0 copied into MoEKit's q8/q4, the same numbers),
/// and the `llama` architecture's query and key rows are put back in `transformers`' order once,
/// at opening (each head's rotary pairs `2i, 2i + 1` to rows `i` and `i + d/2`, bytes copied
/// row by row in any format), and DeepSeek's `kv_b_proj` is put back together from its two
/// halves (`keyValueUp`).
public struct GGUFTensorSource: TensorSource {
  /// One tensor: its type, its Hugging Face shape (`[rows, columns]` or `[n]`) and its bytes.
  struct Entry: @unchecked Sendable {
    let type: GGMLType
    let shape: [Int]
    let bytes: UnsafeRawBufferPointer
  }

  /// Keeps the mapped file and the reordered copies alive for as long as any matrix over them.
  final class Owner: @unchecked Sendable {
    let file: GGUFFile
    var copies: [UnsafeMutableRawBufferPointer] = []
    init(_ file: GGUFFile) { self.file = file }
    deinit { for copy in copies { copy.deallocate() } }
  }

  let entries: [String: Entry]
  let owner: Owner

  /// The tensors of `file` under `family`'s names, as `architecture` maps them; tensors the
  /// family does not read are left out.
  ///
  /// - Throws: `GGUFError.missingMetadata` for the head counts the query/key order needs.
  public init(_ file: GGUFFile, architecture: GGUFArchitecture, family: any ModelFamily) throws {
    let owner = Owner(file)
    let experts = file.metadata["\(architecture.name).expert_count"]?.integer ?? 0
    guard (0...GGUFArchitecture.maximumExperts).contains(experts) else {
      throw GGUFError.missingMetadata(
        key: "\(architecture.name).expert_count", expected: "0 to \(GGUFArchitecture.maximumExperts) experts")
    }
    let heads = file.metadata["\(architecture.name).attention.head_count"]?.integer
    let layers = try architecture.mainLayerCount(of: file)
    var entries: [String: Entry] = [:]
    for (gguf, info) in file.tensors {
      // Multi-token-prediction layers past the model's own are not run.
      if gguf.hasPrefix("blk."), let layer = Int(gguf.dropFirst(4).prefix { $0 != "." }), layer >= layers {
        continue
      }
      let mapped = architecture.huggingFaceNames(of: gguf, family: family, experts: experts)
      guard !mapped.isEmpty else { continue }
      var bytes = try file.rawBytes(gguf)
      let dimensions = Array(info.dimensions.reversed())
      // Stacked experts are [experts, rows, columns] (their biases [experts, rows]); permuted
      // query/key rows a matrix (or a bias, each element a row).
      let stacked = mapped.contains { $0.slice != nil }
      let permuted = architecture.permutesQueryKey && architecture.isQueryOrKey(gguf)
      let stackedRank = gguf.hasSuffix(".bias") ? 2 : 3
      guard
        stacked
          ? dimensions.count == stackedRank && dimensions[0] == experts : !permuted || dimensions.count <= 2
      else {
        throw GGUFError.invalidShape(name: gguf, shape: info.dimensions.map(UInt64.init))
      }
      if permuted {
        let key = "\(architecture.name).attention.head_count" + (gguf.contains(".attn_k.") ? "_kv" : "")
        guard let count = file.metadata[key]?.integer ?? heads, count > 0, dimensions[0] % (2 * count) == 0
        else {
          throw GGUFError.missingMetadata(
            key: key, expected: "a head count that divides \(gguf)'s rows in pairs")
        }
        bytes = Self.rotaryHalves(bytes, rows: dimensions[0], heads: count, owner: owner)
      }
      for (name, slice) in mapped {
        if let slice {
          let size = bytes.count / dimensions[0]
          entries[name] = Entry(
            type: info.type, shape: Array(dimensions.dropFirst()),
            bytes: UnsafeRawBufferPointer(rebasing: bytes[slice * size..<(slice + 1) * size]))
        } else {
          entries[name] = Entry(type: info.type, shape: dimensions, bytes: bytes)
        }
      }
    }
    for (gguf, keys) in file.tensors where gguf.hasPrefix("blk.") && gguf.hasSuffix(".attn_k_b.weight") {
      let block = gguf.dropLast(".attn_k_b.weight".count)
      guard let layer = Int(block.dropFirst(4)), layer < layers,
        let values = file.tensors["\(block).attn_v_b.weight"]
      else { continue }
      entries["model.layers.\(layer).self_attn.kv_b_proj.weight"] = try Self.keyValueUp(
        keys: (keys, try file.rawBytes(gguf)),
        values: (values, try file.rawBytes("\(block).attn_v_b.weight")),
        owner: owner)
    }
    (self.entries, self.owner) = (entries, owner)
  }

  /// DeepSeek's `kv_b_proj` (`[heads·(nope + v), rank]`, each head's key rows then its value
  /// rows) from the halves llama.cpp's converter splits it into — `attn_k_b` `[heads, rank,
  /// nope]` (each head's key rows transposed) and `attn_v_b` `[heads, v, rank]` — dequantized to
  /// Float.
  ///
  /// - Throws: `GGUFError.invalidShape` for halves that do not fit together.
  static func keyValueUp(
    keys: (info: GGUFTensorInfo, bytes: UnsafeRawBufferPointer),
    values: (info: GGUFTensorInfo, bytes: UnsafeRawBufferPointer), owner: Owner
  ) throws -> Entry {
    let (k, v) = (keys.info.shape, values.info.shape)
    guard k.count == 3, v.count == 3, k[0] == v[0], k[1] == v[2] else {
      throw GGUFError.invalidShape(
        name: "attn_k_b.weight beside attn_v_b.weight", shape: keys.info.dimensions.map(UInt64.init))
    }
    let (heads, rank, nope, value) = (k[0], k[1], k[2], v[1])
    let key = GGUFFile.matrix(keys.info.type, keys.bytes, rows: heads * rank, columns: nope, owner: owner)
    let val = GGUFFile.matrix(
      values.info.type, values.bytes, rows: heads * value, columns: rank, owner: owner)
    let rows = heads * (nope + value)
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: rows * rank * 4, alignment: 64)
    owner.copies.append(copy)
    let out = copy.bindMemory(to: Float.self)
    for h in 0..<heads {
      let first = h * (nope + value)
      for i in 0..<nope {
        for c in 0..<rank { out[(first + i) * rank + c] = key.elements[(h * rank + c) * nope + i] }
      }
      for j in 0..<value {
        for c in 0..<rank { out[(first + nope + j) * rank + c] = val.elements[(h * value + j) * rank + c] }
      }
    }
    return Entry(type: .f32, shape: [rows, rank], bytes: UnsafeRawBufferPointer(copy))
  }

  /// `bytes` (`rows` rows, each head's rotary pairs interleaved) copied with each head's rows
  /// in rotate-half order: row `2i + j` of a head to row `j·d/2 + i`.
  static func rotaryHalves(_ bytes: UnsafeRawBufferPointer, rows: Int, heads: Int, owner: Owner)
    -> UnsafeRawBufferPointer
  {
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
    owner.copies.append(copy)
    let (rowBytes, size) = (bytes.count / rows, rows / heads)
    for row in 0..<rows {
      let (head, within) = (row / size, row % size)
      let source = head * size + 2 * (within % (size / 2)) + within / (size / 2)
      (copy.baseAddress! + row * rowBytes).copyMemory(
        from: bytes.baseAddress! + source * rowBytes, byteCount: rowBytes)
    }
    return UnsafeRawBufferPointer(copy)
  }

  func entry(_ name: String) throws -> Entry {
    guard let entry = entries[name] else { throw CheckpointError.missingTensor(name) }
    return entry
  }

  /// Whether a tensor of that name exists.
  public func contains(_ name: String) -> Bool { entries[name] != nil }

  /// Every tensor's name, sorted.
  public var names: [String] { entries.keys.sorted() }

  /// The Hugging Face shape of the named tensor.
  public func shape(of name: String) throws -> [Int] { try entry(name).shape }

  /// F32, F16 and BF16 as themselves; ggml's block types as `U8` (their bytes are blocks, read
  /// through `compactMatrix`).
  public func dataType(of name: String) throws -> SafeTensorsDataType {
    switch try entry(name).type {
    case .f32: .f32
    case .f16: .f16
    case .bf16: .bf16
    default: .u8
    }
  }

  /// The format the named tensor is held in where it lies, or `nil` for F32 and F16.
  public func compactFormat(of name: String) throws -> WeightMatrix.Format? {
    try entry(name).type.weightFormat
  }

  /// The named tensor dequantized exactly as ggml does (a vector as one row).
  public func matrix<Scalar: BLASScalar>(_ name: String, as: Scalar.Type) throws -> Matrix<Scalar> {
    let entry = try entry(name)
    let columns = entry.shape.last ?? 1
    let rows = entry.shape.count == 2 ? entry.shape[0] : 1
    let values = GGUFFile.matrix(entry.type, entry.bytes, rows: rows, columns: columns, owner: owner)
    if Scalar.self == Float.self { return unsafeBitCast(values, to: Matrix<Scalar>.self) }
    return Matrix(rows: rows, columns: columns, elements: values.elements.map { Scalar($0) })
  }

  /// The named 2-D tensor as a `WeightMatrix` in its stored format, or `nil` for F32 and F16.
  public func compactMatrix(_ name: String) throws -> WeightMatrix? {
    let entry = try entry(name)
    guard entry.shape.count == 2, let format = entry.type.weightFormat else { return nil }
    return WeightMatrix(
      ggml: entry.bytes, format: format, rows: entry.shape[0], columns: entry.shape[1], owner: owner)
  }

  /// The stored bytes of the named tensor (ggml's layout; query and key rows reordered).
  public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer { try entry(name).bytes }
}
