import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATE_UNSPECIFIED: _ClassVar[TaskState]
    DRAFT: _ClassVar[TaskState]
    RELEASED: _ClassVar[TaskState]
    RUNNING: _ClassVar[TaskState]
    PAUSED: _ClassVar[TaskState]
    AWAITING_UPLOAD: _ClassVar[TaskState]
    UPLOADING: _ClassVar[TaskState]
    COMPLETED: _ClassVar[TaskState]
    STOPPED: _ClassVar[TaskState]
    FAILED: _ClassVar[TaskState]
TASK_STATE_UNSPECIFIED: TaskState
DRAFT: TaskState
RELEASED: TaskState
RUNNING: TaskState
PAUSED: TaskState
AWAITING_UPLOAD: TaskState
UPLOADING: TaskState
COMPLETED: TaskState
STOPPED: TaskState
FAILED: TaskState

class Task(_message.Message):
    __slots__ = ("id", "name", "description", "ext_datamodule_id", "extraction_script_ids", "field_rule_script_ids", "anonymization_script_ids", "transformation_script_ids", "uploading_script_id", "state", "seed", "created_by", "created_at", "updated_at", "released_at", "current_run_id", "last_error", "module_sha256")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EXT_DATAMODULE_ID_FIELD_NUMBER: _ClassVar[int]
    EXTRACTION_SCRIPT_IDS_FIELD_NUMBER: _ClassVar[int]
    FIELD_RULE_SCRIPT_IDS_FIELD_NUMBER: _ClassVar[int]
    ANONYMIZATION_SCRIPT_IDS_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMATION_SCRIPT_IDS_FIELD_NUMBER: _ClassVar[int]
    UPLOADING_SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    RELEASED_AT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    MODULE_SHA256_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    ext_datamodule_id: str
    extraction_script_ids: _containers.RepeatedScalarFieldContainer[str]
    field_rule_script_ids: _containers.RepeatedScalarFieldContainer[str]
    anonymization_script_ids: _containers.RepeatedScalarFieldContainer[str]
    transformation_script_ids: _containers.RepeatedScalarFieldContainer[str]
    uploading_script_id: str
    state: TaskState
    seed: int
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    released_at: _timestamp_pb2.Timestamp
    current_run_id: str
    last_error: str
    module_sha256: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., ext_datamodule_id: _Optional[str] = ..., extraction_script_ids: _Optional[_Iterable[str]] = ..., field_rule_script_ids: _Optional[_Iterable[str]] = ..., anonymization_script_ids: _Optional[_Iterable[str]] = ..., transformation_script_ids: _Optional[_Iterable[str]] = ..., uploading_script_id: _Optional[str] = ..., state: _Optional[_Union[TaskState, str]] = ..., seed: _Optional[int] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., released_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., current_run_id: _Optional[str] = ..., last_error: _Optional[str] = ..., module_sha256: _Optional[str] = ...) -> None: ...

class CreateTaskRequest(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class CreateTaskResponse(_message.Message):
    __slots__ = ("result", "task_id")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    result: bool
    task_id: str
    def __init__(self, result: _Optional[bool] = ..., task_id: _Optional[str] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class GetTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("states", "page_size", "page_token")
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    states: _containers.RepeatedScalarFieldContainer[TaskState]
    page_size: int
    page_token: str
    def __init__(self, states: _Optional[_Iterable[_Union[TaskState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks", "next_page_token")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    next_page_token: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateExtractionScriptRequest(_message.Message):
    __slots__ = ("task_id", "script_ids")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_IDS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    script_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task_id: _Optional[str] = ..., script_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateExtractionScriptResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class UpdateFieldRulesRequest(_message.Message):
    __slots__ = ("task_id", "script_ids")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_IDS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    script_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task_id: _Optional[str] = ..., script_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateFieldRulesResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class UpdateAnonymizationRulesRequest(_message.Message):
    __slots__ = ("task_id", "script_ids")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_IDS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    script_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task_id: _Optional[str] = ..., script_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateAnonymizationRulesResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class UpdateTransformationScriptsRequest(_message.Message):
    __slots__ = ("task_id", "script_ids")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_IDS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    script_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task_id: _Optional[str] = ..., script_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateTransformationScriptsResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class UpdateUploadingScriptRequest(_message.Message):
    __slots__ = ("task_id", "script_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    script_id: str
    def __init__(self, task_id: _Optional[str] = ..., script_id: _Optional[str] = ...) -> None: ...

class UpdateUploadingScriptResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class ReleaseRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class ReleaseResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class GetTaskModuleRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class ConnectionVariable(_message.Message):
    __slots__ = ("connection_id", "type", "variable", "folder")
    CONNECTION_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VARIABLE_FIELD_NUMBER: _ClassVar[int]
    FOLDER_FIELD_NUMBER: _ClassVar[int]
    connection_id: str
    type: str
    variable: str
    folder: str
    def __init__(self, connection_id: _Optional[str] = ..., type: _Optional[str] = ..., variable: _Optional[str] = ..., folder: _Optional[str] = ...) -> None: ...

class GetTaskModuleResponse(_message.Message):
    __slots__ = ("document_json", "module_sha256", "connections")
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    MODULE_SHA256_FIELD_NUMBER: _ClassVar[int]
    CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    document_json: str
    module_sha256: str
    connections: _containers.RepeatedCompositeFieldContainer[ConnectionVariable]
    def __init__(self, document_json: _Optional[str] = ..., module_sha256: _Optional[str] = ..., connections: _Optional[_Iterable[_Union[ConnectionVariable, _Mapping]]] = ...) -> None: ...

class StartRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class StartResponse(_message.Message):
    __slots__ = ("result", "run_id", "state")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    result: bool
    run_id: str
    state: TaskState
    def __init__(self, result: _Optional[bool] = ..., run_id: _Optional[str] = ..., state: _Optional[_Union[TaskState, str]] = ...) -> None: ...

class PauseRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class PauseResponse(_message.Message):
    __slots__ = ("result", "state")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    result: bool
    state: TaskState
    def __init__(self, result: _Optional[bool] = ..., state: _Optional[_Union[TaskState, str]] = ...) -> None: ...

class ResumeRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class ResumeResponse(_message.Message):
    __slots__ = ("result", "state")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    result: bool
    state: TaskState
    def __init__(self, result: _Optional[bool] = ..., state: _Optional[_Union[TaskState, str]] = ...) -> None: ...

class StopRequest(_message.Message):
    __slots__ = ("task_id", "clear_outbox")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CLEAR_OUTBOX_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    clear_outbox: bool
    def __init__(self, task_id: _Optional[str] = ..., clear_outbox: _Optional[bool] = ...) -> None: ...

class StopResponse(_message.Message):
    __slots__ = ("result", "state", "outbox_entries_cleared")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_ENTRIES_CLEARED_FIELD_NUMBER: _ClassVar[int]
    result: bool
    state: TaskState
    outbox_entries_cleared: int
    def __init__(self, result: _Optional[bool] = ..., state: _Optional[_Union[TaskState, str]] = ..., outbox_entries_cleared: _Optional[int] = ...) -> None: ...
