from google.protobuf import wrappers_pb2 as _wrappers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExtractorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    File: _ClassVar[ExtractorKind]
    Sql: _ClassVar[ExtractorKind]
    Http: _ClassVar[ExtractorKind]
    Executable: _ClassVar[ExtractorKind]

class FieldType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Integer: _ClassVar[FieldType]
    String: _ClassVar[FieldType]
    Double: _ClassVar[FieldType]
    Boolean: _ClassVar[FieldType]
    Date: _ClassVar[FieldType]
    DateTime: _ClassVar[FieldType]

class FieldRuleType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FillEmpty: _ClassVar[FieldRuleType]
    IgnoreEmpty: _ClassVar[FieldRuleType]
    RemoveEmpty: _ClassVar[FieldRuleType]
    FillOutOfRange: _ClassVar[FieldRuleType]
    IgnoreOutOfRange: _ClassVar[FieldRuleType]
    RemoveOutOfRange: _ClassVar[FieldRuleType]

class AnonymizationRuleType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Generalization: _ClassVar[AnonymizationRuleType]
    Suppression: _ClassVar[AnonymizationRuleType]
    Anatomization: _ClassVar[AnonymizationRuleType]
    Permutation: _ClassVar[AnonymizationRuleType]
    Perturbation: _ClassVar[AnonymizationRuleType]

class TransformationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Merge: _ClassVar[TransformationType]
    Update: _ClassVar[TransformationType]
File: ExtractorKind
Sql: ExtractorKind
Http: ExtractorKind
Executable: ExtractorKind
Integer: FieldType
String: FieldType
Double: FieldType
Boolean: FieldType
Date: FieldType
DateTime: FieldType
FillEmpty: FieldRuleType
IgnoreEmpty: FieldRuleType
RemoveEmpty: FieldRuleType
FillOutOfRange: FieldRuleType
IgnoreOutOfRange: FieldRuleType
RemoveOutOfRange: FieldRuleType
Generalization: AnonymizationRuleType
Suppression: AnonymizationRuleType
Anatomization: AnonymizationRuleType
Permutation: AnonymizationRuleType
Perturbation: AnonymizationRuleType
Merge: TransformationType
Update: TransformationType

class CreateScriptRequest(_message.Message):
    __slots__ = ("script",)
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    script: Script
    def __init__(self, script: _Optional[_Union[Script, _Mapping]] = ...) -> None: ...

class CreateScriptResponse(_message.Message):
    __slots__ = ("result", "script_id")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    result: bool
    script_id: str
    def __init__(self, result: _Optional[bool] = ..., script_id: _Optional[str] = ...) -> None: ...

class UpdateScriptRequest(_message.Message):
    __slots__ = ("script_id", "extractor", "field_rule", "anonymization_rule", "transformer", "uploader", "fields_to_add", "fields_to_remove")
    SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    EXTRACTOR_FIELD_NUMBER: _ClassVar[int]
    FIELD_RULE_FIELD_NUMBER: _ClassVar[int]
    ANONYMIZATION_RULE_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMER_FIELD_NUMBER: _ClassVar[int]
    UPLOADER_FIELD_NUMBER: _ClassVar[int]
    FIELDS_TO_ADD_FIELD_NUMBER: _ClassVar[int]
    FIELDS_TO_REMOVE_FIELD_NUMBER: _ClassVar[int]
    script_id: str
    extractor: ExtractorScript
    field_rule: FieldRule
    anonymization_rule: AnonymizationRule
    transformer: TransformationScript
    uploader: UploaderScript
    fields_to_add: _containers.RepeatedCompositeFieldContainer[Field]
    fields_to_remove: _containers.RepeatedCompositeFieldContainer[Field]
    def __init__(self, script_id: _Optional[str] = ..., extractor: _Optional[_Union[ExtractorScript, _Mapping]] = ..., field_rule: _Optional[_Union[FieldRule, _Mapping]] = ..., anonymization_rule: _Optional[_Union[AnonymizationRule, _Mapping]] = ..., transformer: _Optional[_Union[TransformationScript, _Mapping]] = ..., uploader: _Optional[_Union[UploaderScript, _Mapping]] = ..., fields_to_add: _Optional[_Iterable[_Union[Field, _Mapping]]] = ..., fields_to_remove: _Optional[_Iterable[_Union[Field, _Mapping]]] = ...) -> None: ...

class UpdateScriptResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class ReleaseScriptRequest(_message.Message):
    __slots__ = ("script_id",)
    SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    script_id: str
    def __init__(self, script_id: _Optional[str] = ...) -> None: ...

class ReleaseScriptResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class GetScriptRequest(_message.Message):
    __slots__ = ("script_id",)
    SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    script_id: str
    def __init__(self, script_id: _Optional[str] = ...) -> None: ...

class GetScriptResponse(_message.Message):
    __slots__ = ("script",)
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    script: Script
    def __init__(self, script: _Optional[_Union[Script, _Mapping]] = ...) -> None: ...

class GetAllScriptRequest(_message.Message):
    __slots__ = ("etl_task_id", "page_size", "page_token")
    ETL_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    etl_task_id: str
    page_size: int
    page_token: str
    def __init__(self, etl_task_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetAllScriptResponse(_message.Message):
    __slots__ = ("scripts", "next_page_token")
    SCRIPTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    scripts: _containers.RepeatedCompositeFieldContainer[Script]
    next_page_token: str
    def __init__(self, scripts: _Optional[_Iterable[_Union[Script, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Script(_message.Message):
    __slots__ = ("id", "task_id", "fields", "released", "extractor", "field_rule", "anonymization_rule", "transformer", "uploader")
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    EXTRACTOR_FIELD_NUMBER: _ClassVar[int]
    FIELD_RULE_FIELD_NUMBER: _ClassVar[int]
    ANONYMIZATION_RULE_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMER_FIELD_NUMBER: _ClassVar[int]
    UPLOADER_FIELD_NUMBER: _ClassVar[int]
    id: str
    task_id: str
    fields: _containers.RepeatedCompositeFieldContainer[Field]
    released: bool
    extractor: ExtractorScript
    field_rule: FieldRule
    anonymization_rule: AnonymizationRule
    transformer: TransformationScript
    uploader: UploaderScript
    def __init__(self, id: _Optional[str] = ..., task_id: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[Field, _Mapping]]] = ..., released: _Optional[bool] = ..., extractor: _Optional[_Union[ExtractorScript, _Mapping]] = ..., field_rule: _Optional[_Union[FieldRule, _Mapping]] = ..., anonymization_rule: _Optional[_Union[AnonymizationRule, _Mapping]] = ..., transformer: _Optional[_Union[TransformationScript, _Mapping]] = ..., uploader: _Optional[_Union[UploaderScript, _Mapping]] = ...) -> None: ...

class ExtractorScript(_message.Message):
    __slots__ = ("table", "kind", "config_json", "priority", "connection_id")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    table: str
    kind: ExtractorKind
    config_json: str
    priority: int
    connection_id: str
    def __init__(self, table: _Optional[str] = ..., kind: _Optional[_Union[ExtractorKind, str]] = ..., config_json: _Optional[str] = ..., priority: _Optional[int] = ..., connection_id: _Optional[str] = ...) -> None: ...

class UploaderScript(_message.Message):
    __slots__ = ("destination_json", "rewrite_protocol", "connection_id")
    DESTINATION_JSON_FIELD_NUMBER: _ClassVar[int]
    REWRITE_PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    destination_json: str
    rewrite_protocol: bool
    connection_id: str
    def __init__(self, destination_json: _Optional[str] = ..., rewrite_protocol: _Optional[bool] = ..., connection_id: _Optional[str] = ...) -> None: ...

class FieldRule(_message.Message):
    __slots__ = ("default_value", "min_value", "max_value", "field_type", "type")
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    MIN_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAX_VALUE_FIELD_NUMBER: _ClassVar[int]
    FIELD_TYPE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    default_value: str
    min_value: str
    max_value: str
    field_type: FieldType
    type: FieldRuleType
    def __init__(self, default_value: _Optional[str] = ..., min_value: _Optional[str] = ..., max_value: _Optional[str] = ..., field_type: _Optional[_Union[FieldType, str]] = ..., type: _Optional[_Union[FieldRuleType, str]] = ...) -> None: ...

class AnonymizationRule(_message.Message):
    __slots__ = ("type", "parameters_json")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    type: AnonymizationRuleType
    parameters_json: str
    def __init__(self, type: _Optional[_Union[AnonymizationRuleType, str]] = ..., parameters_json: _Optional[str] = ...) -> None: ...

class TransformationScript(_message.Message):
    __slots__ = ("transformation_script", "type", "target_table")
    TRANSFORMATION_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_TABLE_FIELD_NUMBER: _ClassVar[int]
    transformation_script: _wrappers_pb2.StringValue
    type: TransformationType
    target_table: str
    def __init__(self, transformation_script: _Optional[_Union[_wrappers_pb2.StringValue, _Mapping]] = ..., type: _Optional[_Union[TransformationType, str]] = ..., target_table: _Optional[str] = ...) -> None: ...

class Field(_message.Message):
    __slots__ = ("ext_datamodule_id", "field_name")
    EXT_DATAMODULE_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_NAME_FIELD_NUMBER: _ClassVar[int]
    ext_datamodule_id: str
    field_name: str
    def __init__(self, ext_datamodule_id: _Optional[str] = ..., field_name: _Optional[str] = ...) -> None: ...
