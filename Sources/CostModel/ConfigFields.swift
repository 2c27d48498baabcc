import Foundation

/// Typed, validating access to the fields of a Hugging Face `config.json` object: every
/// accessor throws a `ConfigError` naming the field when it is missing, mistyped or out of
/// range.
///
/// Whole numbers are bounded above (`limits`, else 2²⁴) so that no configuration, however
/// large its numbers, can overflow the parameter counts built from it: widths up to 2¹⁶,
/// hidden sizes up to 2²⁰, at most 2¹² layers, heads and experts — generous next to any
/// published model.
public struct ConfigFields: Sendable {
  /// The raw fields.
  public let fields: [String: JSONValue]

  /// The fields of an already parsed object.
  public init(fields: [String: JSONValue]) { self.fields = fields }

  /// Parses `json`, which must hold a JSON object.
  ///
  /// - Throws: `ConfigError.invalidJSON` or `.notAnObject`.
  public init(json: Data) throws {
    let value: JSONValue
    do {
      value = try JSONValue.parse(json)
    } catch {
      throw ConfigError.invalidJSON(reason: "\(error)")
    }
    guard case .object(let fields) = value else { throw ConfigError.notAnObject }
    self.fields = fields
  }

  /// Whether `key` is present and not `null`.
  public func has(_ key: String) -> Bool {
    if case .some(let value) = fields[key], value != .null { return true }
    return false
  }

  /// The largest value accepted for each bounded field (others: 2²⁴).
  public static let limits: [String: Int] = {
    var limits: [String: Int] = [
      "hidden_size": 1 << 16, "d_model": 1 << 16, "vocab_size": 1 << 24, "num_nextn_predict_layers": 64,
    ]
    for key in [
      "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim", "qk_nope_head_dim",
      "qk_rope_head_dim", "v_head_dim", "num_local_experts", "num_experts", "n_routed_experts",
      "n_shared_experts",
      "num_experts_per_tok", "n_group", "topk_group", "decoder_sparse_step", "moe_layer_freq",
      "first_k_dense_replace", "moe_num_experts", "moe_k", "moe_num_shared_experts", "moe_layer_start_index",
      "moe_layer_end_index", "moe_layer_interval", "interleave_moe_layer_step", "n_heads", "n_layers",
      "kv_n_heads", "moe_top_k", "moe_topk", "linear_num_key_heads", "linear_num_value_heads",
      "linear_key_head_dim", "linear_value_head_dim", "linear_conv_kernel_dim", "mamba_d_state",
      "mamba_d_conv",
      "mamba_expand", "mamba_dt_rank", "attn_layer_period", "attn_layer_offset", "expert_layer_period",
      "expert_layer_offset", "index_n_heads", "index_head_dim", "mamba_n_heads", "mamba_n_groups",
      "mamba_d_head", "patch_size", "num_channels",
    ] { limits[key] = 1 << 12 }
    for key in [
      "intermediate_size", "moe_intermediate_size", "shared_expert_intermediate_size",
      "intermediate_size_mlp", "ffn_hidden_size", "shared_intermediate_size",
    ] {
      limits[key] = 1 << 20
    }
    for key in [
      "q_lora_rank", "kv_lora_rank", "image_size", "projector_input_dim", "projector_output_dim",
      "vision_output_dim",
    ] { limits[key] = 1 << 16 }
    return limits
  }()

  /// A whole number in `minimum...limit` (see `limits`); `fallback` when absent or `null`.
  public func int(_ key: String, minimum: Int = 1, fallback: Int? = nil) throws -> Int {
    guard let value = fields[key], value != .null else {
      if let fallback { return fallback }
      throw ConfigError.missingField(key)
    }
    guard case .number(let x) = value, x.rounded() == x, abs(x) < 1e15 else {
      throw ConfigError.wrongType(field: key, expected: "a whole number")
    }
    let n = Int(x)
    let maximum = Self.limits[key] ?? 1 << 24
    guard n >= minimum && n <= maximum else {
      throw ConfigError.outOfRange(field: key, value: "\(n)", requirement: "within \(minimum)...\(maximum)")
    }
    return n
  }

  /// A whole number, or `nil` when absent or `null`.
  public func optionalInt(_ key: String, minimum: Int = 1) throws -> Int? {
    has(key) ? try int(key, minimum: minimum) : nil
  }

  /// A boolean; `fallback` when absent or `null`.
  public func bool(_ key: String, fallback: Bool) throws -> Bool {
    guard let value = fields[key], value != .null else { return fallback }
    guard case .bool(let b) = value else {
      throw ConfigError.wrongType(field: key, expected: "true or false")
    }
    return b
  }

  /// An array of whole numbers in `0..<bound`; empty when absent or `null`.
  public func indices(_ key: String, below bound: Int) throws -> [Int] {
    guard let value = fields[key], value != .null else { return [] }
    guard case .array(let items) = value else {
      throw ConfigError.wrongType(field: key, expected: "an array of layer indices")
    }
    return try items.map { item in
      guard case .number(let x) = item, x.rounded() == x, x >= 0, x < Double(bound) else {
        throw ConfigError.outOfRange(
          field: key, value: "\(item)", requirement: "layer indices in 0..<\(bound)")
      }
      return Int(x)
    }
  }

  /// A finite number; `fallback` when absent or `null`.
  public func double(_ key: String, fallback: Double) throws -> Double {
    guard let value = fields[key], value != .null else { return fallback }
    guard case .number(let x) = value, x.isFinite else {
      throw ConfigError.wrongType(field: key, expected: "a number")
    }
    return x
  }

  /// An array of strings (`layer_types`), or `nil` when absent or `null`.
  public func strings(_ key: String) throws -> [String]? {
    guard let value = fields[key], value != .null else { return nil }
    guard case .array(let items) = value else {
      throw ConfigError.wrongType(field: key, expected: "an array")
    }
    return try items.map { item in
      guard case .string(let s) = item else {
        throw ConfigError.wrongType(field: key, expected: "an array of strings")
      }
      return s
    }
  }

  /// The fields of a nested object (`text_config`), or `nil` when absent or `null`.
  public func nested(_ key: String) throws -> ConfigFields? {
    guard let value = fields[key], value != .null else { return nil }
    guard case .object(let inner) = value else {
      throw ConfigError.wrongType(field: key, expected: "an object")
    }
    return ConfigFields(fields: inner)
  }

  /// A string, or `nil` when absent.
  public func string(_ key: String) throws -> String? {
    guard let value = fields[key], value != .null else { return nil }
    guard case .string(let s) = value else { throw ConfigError.wrongType(field: key, expected: "a string") }
    return s
  }
}
