import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExtDatamoduleAccessType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    READ: _ClassVar[ExtDatamoduleAccessType]
    WRITE: _ClassVar[ExtDatamoduleAccessType]
    OWNER: _ClassVar[ExtDatamoduleAccessType]

class UserRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EDIT_TASK: _ClassVar[UserRole]
    MANAGE_DATA: _ClassVar[UserRole]
    CREATE_EXT_DATAMODULE: _ClassVar[UserRole]
    PROCESS_ETL_TASK: _ClassVar[UserRole]
    ADMIN: _ClassVar[UserRole]

class AccessRequestState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_REQUEST_STATE_UNSPECIFIED: _ClassVar[AccessRequestState]
    PENDING: _ClassVar[AccessRequestState]
    APPROVED: _ClassVar[AccessRequestState]
    DENIED: _ClassVar[AccessRequestState]
    WITHDRAWN: _ClassVar[AccessRequestState]
    REVOKED: _ClassVar[AccessRequestState]
    EXPIRED: _ClassVar[AccessRequestState]
READ: ExtDatamoduleAccessType
WRITE: ExtDatamoduleAccessType
OWNER: ExtDatamoduleAccessType
EDIT_TASK: UserRole
MANAGE_DATA: UserRole
CREATE_EXT_DATAMODULE: UserRole
PROCESS_ETL_TASK: UserRole
ADMIN: UserRole
ACCESS_REQUEST_STATE_UNSPECIFIED: AccessRequestState
PENDING: AccessRequestState
APPROVED: AccessRequestState
DENIED: AccessRequestState
WITHDRAWN: AccessRequestState
REVOKED: AccessRequestState
EXPIRED: AccessRequestState

class CreateUserRequest(_message.Message):
    __slots__ = ("id", "name", "email")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    email: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class CreateUserResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class AddAccessRequest(_message.Message):
    __slots__ = ("user_id", "access")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    access: ExtDatamoduleAccess
    def __init__(self, user_id: _Optional[str] = ..., access: _Optional[_Union[ExtDatamoduleAccess, _Mapping]] = ...) -> None: ...

class AddAccessResponse(_message.Message):
    __slots__ = ("result", "access_request_id", "state")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ACCESS_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    result: bool
    access_request_id: str
    state: AccessRequestState
    def __init__(self, result: _Optional[bool] = ..., access_request_id: _Optional[str] = ..., state: _Optional[_Union[AccessRequestState, str]] = ...) -> None: ...

class RemoveAccessRequest(_message.Message):
    __slots__ = ("user_id", "access")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    access: ExtDatamoduleAccess
    def __init__(self, user_id: _Optional[str] = ..., access: _Optional[_Union[ExtDatamoduleAccess, _Mapping]] = ...) -> None: ...

class RemoveAccessResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class AddRoleRequest(_message.Message):
    __slots__ = ("user_id", "role")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    role: UserRole
    def __init__(self, user_id: _Optional[str] = ..., role: _Optional[_Union[UserRole, str]] = ...) -> None: ...

class AddRoleResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class RemoveRoleRequest(_message.Message):
    __slots__ = ("user_id", "role")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    role: UserRole
    def __init__(self, user_id: _Optional[str] = ..., role: _Optional[_Union[UserRole, str]] = ...) -> None: ...

class RemoveRoleResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class ApproveAccessRequestRequest(_message.Message):
    __slots__ = ("access_request_id", "owner_user_id", "state", "note")
    ACCESS_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    access_request_id: str
    owner_user_id: str
    state: bool
    note: str
    def __init__(self, access_request_id: _Optional[str] = ..., owner_user_id: _Optional[str] = ..., state: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class ApproveAccessResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class ListUsersRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "include_blocked")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    include_blocked: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., include_blocked: _Optional[bool] = ...) -> None: ...

class ListUsersResponse(_message.Message):
    __slots__ = ("users", "next_page_token")
    USERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[User]
    next_page_token: str
    def __init__(self, users: _Optional[_Iterable[_Union[User, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListPendingAccessRequestsRequest(_message.Message):
    __slots__ = ("ext_datamodule_id", "page_size", "page_token")
    EXT_DATAMODULE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ext_datamodule_id: str
    page_size: int
    page_token: str
    def __init__(self, ext_datamodule_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPendingAccessRequestsResponse(_message.Message):
    __slots__ = ("requests", "next_page_token")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[ExtDatamoduleAccess]
    next_page_token: str
    def __init__(self, requests: _Optional[_Iterable[_Union[ExtDatamoduleAccess, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListUserAccessRequestsRequest(_message.Message):
    __slots__ = ("user_id", "states", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    states: _containers.RepeatedScalarFieldContainer[AccessRequestState]
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[str] = ..., states: _Optional[_Iterable[_Union[AccessRequestState, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUserAccessRequestsResponse(_message.Message):
    __slots__ = ("requests", "next_page_token")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[ExtDatamoduleAccess]
    next_page_token: str
    def __init__(self, requests: _Optional[_Iterable[_Union[ExtDatamoduleAccess, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetAccessRequestRequest(_message.Message):
    __slots__ = ("access_request_id",)
    ACCESS_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    access_request_id: str
    def __init__(self, access_request_id: _Optional[str] = ...) -> None: ...

class GetAccessRequestResponse(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: ExtDatamoduleAccess
    def __init__(self, request: _Optional[_Union[ExtDatamoduleAccess, _Mapping]] = ...) -> None: ...

class BlockUserRequest(_message.Message):
    __slots__ = ("user_id", "reason")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    reason: str
    def __init__(self, user_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class BlockUserResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class UnblockUserRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class UnblockUserResponse(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: bool
    def __init__(self, result: _Optional[bool] = ...) -> None: ...

class ListLoginsRequest(_message.Message):
    __slots__ = ("user_id", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLoginsResponse(_message.Message):
    __slots__ = ("logins", "next_page_token")
    LOGINS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    logins: _containers.RepeatedCompositeFieldContainer[Login]
    next_page_token: str
    def __init__(self, logins: _Optional[_Iterable[_Union[Login, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Login(_message.Message):
    __slots__ = ("id", "user_id", "occurred_at", "issuer", "address", "door", "success", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    DOOR_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    occurred_at: _timestamp_pb2.Timestamp
    issuer: str
    address: str
    door: str
    success: bool
    reason: str
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., issuer: _Optional[str] = ..., address: _Optional[str] = ..., door: _Optional[str] = ..., success: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("id", "name", "roles", "ext_datamodule_accesses", "access_requests", "blocked", "created_at", "email")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    EXT_DATAMODULE_ACCESSES_FIELD_NUMBER: _ClassVar[int]
    ACCESS_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    roles: _containers.RepeatedScalarFieldContainer[UserRole]
    ext_datamodule_accesses: _containers.RepeatedCompositeFieldContainer[ExtDatamoduleAccess]
    access_requests: _containers.RepeatedCompositeFieldContainer[ExtDatamoduleAccess]
    blocked: bool
    created_at: _timestamp_pb2.Timestamp
    email: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., roles: _Optional[_Iterable[_Union[UserRole, str]]] = ..., ext_datamodule_accesses: _Optional[_Iterable[_Union[ExtDatamoduleAccess, _Mapping]]] = ..., access_requests: _Optional[_Iterable[_Union[ExtDatamoduleAccess, _Mapping]]] = ..., blocked: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., email: _Optional[str] = ...) -> None: ...

class ExtDatamoduleAccess(_message.Message):
    __slots__ = ("id", "ext_datamodule_id", "access_types", "state", "reason", "expires_at", "user_id", "created_at", "decided_at", "decided_by", "decision_note")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXT_DATAMODULE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TYPES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECISION_NOTE_FIELD_NUMBER: _ClassVar[int]
    id: str
    ext_datamodule_id: str
    access_types: _containers.RepeatedScalarFieldContainer[ExtDatamoduleAccessType]
    state: AccessRequestState
    reason: str
    expires_at: _timestamp_pb2.Timestamp
    user_id: str
    created_at: _timestamp_pb2.Timestamp
    decided_at: _timestamp_pb2.Timestamp
    decided_by: str
    decision_note: str
    def __init__(self, id: _Optional[str] = ..., ext_datamodule_id: _Optional[str] = ..., access_types: _Optional[_Iterable[_Union[ExtDatamoduleAccessType, str]]] = ..., state: _Optional[_Union[AccessRequestState, str]] = ..., reason: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., user_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decided_by: _Optional[str] = ..., decision_note: _Optional[str] = ...) -> None: ...
