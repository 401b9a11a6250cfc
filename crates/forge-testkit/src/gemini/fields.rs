//! The fields Google's JSON parser knows for each message of a `GenerateContentRequest`
//! (v1beta reference). Like protobuf JSON, both lowerCamelCase and snake_case names are
//! accepted; any other name is rejected with `Unknown name "x"`.

use serde_json::{Map, Value};

use super::error::GoogleError;

pub(crate) const REQUEST: &[&str] = &[
    "model",
    "contents",
    "tools",
    "toolConfig",
    "safetySettings",
    "systemInstruction",
    "generationConfig",
    "cachedContent",
];

pub(crate) const GENERATION_CONFIG: &[&str] = &[
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "enableEnhancedCivicAnswers",
    "speechConfig",
    "thinkingConfig",
    "imageConfig",
    "mediaResolution",
];

pub(crate) const THINKING_CONFIG: &[&str] = &["includeThoughts", "thinkingBudget", "thinkingLevel"];

pub(crate) const CONTENT: &[&str] = &["role", "parts"];

pub(crate) const PART: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "thought",
    "thoughtSignature",
    "videoMetadata",
    "partMetadata",
    "mediaResolution",
];

/// The `data` oneof of a part: exactly one must be set.
pub(crate) const PART_DATA: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
];

pub(crate) const FUNCTION_CALL: &[&str] = &["id", "name", "args"];

pub(crate) const FUNCTION_RESPONSE: &[&str] = &[
    "id",
    "name",
    "response",
    "parts",
    "willContinue",
    "scheduling",
];

pub(crate) const TOOL: &[&str] = &[
    "functionDeclarations",
    "googleSearchRetrieval",
    "codeExecution",
    "googleSearch",
    "computerUse",
    "urlContext",
    "fileSearch",
    "googleMaps",
];

pub(crate) const FUNCTION_DECLARATION: &[&str] = &[
    "name",
    "description",
    "behavior",
    "parameters",
    "parametersJsonSchema",
    "response",
    "responseJsonSchema",
];

/// The OpenAPI subset Gemini's `Schema` accepts (no `$ref`, `additionalProperties`, `const`...;
/// those need `parametersJsonSchema`).
pub(crate) const SCHEMA: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

pub(crate) const TOOL_CONFIG: &[&str] = &["functionCallingConfig", "retrievalConfig"];

pub(crate) const FUNCTION_CALLING_CONFIG: &[&str] = &["mode", "allowedFunctionNames"];

/// `max_output_tokens` -> `maxOutputTokens`.
pub(crate) fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `maxOutputTokens` -> `max_output_tokens`, as Google writes field paths in errors.
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Rejects the first field of `object` not in `known`; `at` is the snake_case path.
pub(crate) fn check_known(
    object: &Map<String, Value>,
    known: &[&str],
    at: &str,
) -> Result<(), GoogleError> {
    match object.keys().find(|k| !known.contains(&camel(k).as_str())) {
        Some(unknown) => Err(GoogleError::unknown_field(unknown, at)),
        None => Ok(()),
    }
}

/// A field by its camelCase name, also found under its snake_case name.
pub(crate) fn get<'a>(object: &'a Map<String, Value>, camel_name: &str) -> Option<&'a Value> {
    object
        .get(camel_name)
        .or_else(|| object.get(&snake(camel_name)))
}

/// `path.child` (or `child` at the top).
pub(crate) fn join(at: &str, child: &str) -> String {
    if at.is_empty() {
        child.to_owned()
    } else {
        format!("{at}.{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_names() {
        assert_eq!(camel("max_output_tokens"), "maxOutputTokens");
        assert_eq!(camel("topK"), "topK");
        assert_eq!(snake("maxOutputTokens"), "max_output_tokens");
        assert_eq!(snake("contents"), "contents");
    }
}
