//! The demo district's places, units and the names its members are drawn from.

use crate::domain::organisation::{OrganisationKind, Sector};

pub(super) const COMMUNES: &[(&str, &str, Sector)] = &[
    ("TT", "Đảng bộ thị trấn Thanh Sơn", Sector::Township),
    ("SH", "Đảng bộ xã Sơn Hùng", Sector::Commune),
    ("TK", "Đảng bộ xã Thạch Khoán", Sector::Commune),
    ("GL", "Đảng bộ xã Giáp Lai", Sector::Commune),
    ("TL", "Đảng bộ xã Thục Luyện", Sector::Commune),
    ("VMI", "Đảng bộ xã Võ Miếu", Sector::Commune),
    ("DQ", "Đảng bộ xã Địch Quả", Sector::Commune),
    ("CT", "Đảng bộ xã Cự Thắng", Sector::Commune),
    ("TTH", "Đảng bộ xã Tất Thắng", Sector::Commune),
    ("VM", "Đảng bộ xã Văn Miếu", Sector::Commune),
    ("CD", "Đảng bộ xã Cự Đồng", Sector::Commune),
    ("TSO", "Đảng bộ xã Thắng Sơn", Sector::Commune),
    ("TM", "Đảng bộ xã Tân Minh", Sector::Commune),
    ("HC", "Đảng bộ xã Hương Cần", Sector::Commune),
    ("KC", "Đảng bộ xã Khả Cửu", Sector::Commune),
    ("DC", "Đảng bộ xã Đông Cửu", Sector::Commune),
    ("TLA", "Đảng bộ xã Tân Lập", Sector::Commune),
    ("YLA", "Đảng bộ xã Yên Lãng", Sector::Commune),
    ("YLU", "Đảng bộ xã Yên Lương", Sector::Commune),
    ("TC", "Đảng bộ xã Thượng Cửu", Sector::Commune),
    ("LN", "Đảng bộ xã Lương Nha", Sector::Commune),
    ("YS", "Đảng bộ xã Yên Sơn", Sector::Commune),
    ("TN", "Đảng bộ xã Tinh Nhuệ", Sector::Commune),
    ("STH", "Đảng bộ xã Sơn Thủy", Sector::Commune),
];

pub(super) const HAMLETS: &[&str] = &[
    "Đồng Mới",
    "Dụ",
    "Chiềng",
    "Mít",
    "Vường",
    "Giác",
    "Đồng Phai",
    "Liên Thành",
    "Tân Thành",
    "Xóm Mới",
    "Đồng Cỏ",
    "Chằng",
    "Bến Gạo",
    "Lóng",
    "Đá Cạn",
    "Cạn",
    "Nưa",
    "Đồng Than",
];

/// Agencies, units and enterprises: code, name, kind, sector and, for committees, their cells.
pub(super) const UNITS: &[(&str, &str, OrganisationKind, Sector, &[&str])] = &[
    (
        "CA",
        "Đảng bộ Công an huyện",
        OrganisationKind::BaseCommittee,
        Sector::ArmedForces,
        &["Chi bộ Cảnh sát", "Chi bộ An ninh", "Chi bộ Tham mưu - Hậu cần"],
    ),
    (
        "QS",
        "Đảng bộ Quân sự huyện",
        OrganisationKind::BaseCommittee,
        Sector::ArmedForces,
        &["Chi bộ Chỉ huy", "Chi bộ Tham mưu"],
    ),
    (
        "BV",
        "Đảng bộ Bệnh viện Đa khoa huyện",
        OrganisationKind::BaseCommittee,
        Sector::PublicServiceUnit,
        &["Chi bộ Khối Nội", "Chi bộ Khối Ngoại", "Chi bộ Hành chính"],
    ),
    (
        "HU",
        "Chi bộ Cơ quan Huyện ủy",
        OrganisationKind::BaseCell,
        Sector::AdministrativeAgency,
        &[],
    ),
    (
        "UB",
        "Chi bộ Văn phòng HĐND - UBND huyện",
        OrganisationKind::BaseCell,
        Sector::AdministrativeAgency,
        &[],
    ),
    (
        "MT",
        "Chi bộ Cơ quan Mặt trận và các đoàn thể huyện",
        OrganisationKind::BaseCell,
        Sector::AdministrativeAgency,
        &[],
    ),
    (
        "TA",
        "Chi bộ Tòa án nhân dân huyện",
        OrganisationKind::BaseCell,
        Sector::AdministrativeAgency,
        &[],
    ),
    (
        "VKS",
        "Chi bộ Viện Kiểm sát nhân dân huyện",
        OrganisationKind::BaseCell,
        Sector::AdministrativeAgency,
        &[],
    ),
    (
        "THA",
        "Chi bộ Chi cục Thi hành án dân sự huyện",
        OrganisationKind::BaseCell,
        Sector::AdministrativeAgency,
        &[],
    ),
    (
        "KB",
        "Chi bộ Kho bạc Nhà nước huyện",
        OrganisationKind::BaseCell,
        Sector::AdministrativeAgency,
        &[],
    ),
    (
        "CCT",
        "Chi bộ Chi cục Thuế huyện",
        OrganisationKind::BaseCell,
        Sector::AdministrativeAgency,
        &[],
    ),
    (
        "BHXH",
        "Chi bộ Bảo hiểm xã hội huyện",
        OrganisationKind::BaseCell,
        Sector::AdministrativeAgency,
        &[],
    ),
    (
        "GD",
        "Chi bộ Phòng Giáo dục và Đào tạo huyện",
        OrganisationKind::BaseCell,
        Sector::AdministrativeAgency,
        &[],
    ),
    (
        "TTYT",
        "Chi bộ Trung tâm Y tế huyện",
        OrganisationKind::BaseCell,
        Sector::PublicServiceUnit,
        &[],
    ),
    (
        "THPT1",
        "Chi bộ Trường THPT Thanh Sơn",
        OrganisationKind::BaseCell,
        Sector::PublicServiceUnit,
        &[],
    ),
    (
        "THPT2",
        "Chi bộ Trường THPT Hương Cần",
        OrganisationKind::BaseCell,
        Sector::PublicServiceUnit,
        &[],
    ),
    (
        "THPT3",
        "Chi bộ Trường THPT Văn Miếu",
        OrganisationKind::BaseCell,
        Sector::PublicServiceUnit,
        &[],
    ),
    (
        "GDTX",
        "Chi bộ Trung tâm Giáo dục thường xuyên huyện",
        OrganisationKind::BaseCell,
        Sector::PublicServiceUnit,
        &[],
    ),
    (
        "BDCT",
        "Chi bộ Trung tâm Bồi dưỡng chính trị huyện",
        OrganisationKind::BaseCell,
        Sector::PublicServiceUnit,
        &[],
    ),
    (
        "NHNN",
        "Chi bộ Ngân hàng Nông nghiệp và PTNT chi nhánh Thanh Sơn",
        OrganisationKind::BaseCell,
        Sector::Enterprise,
        &[],
    ),
    (
        "DL",
        "Chi bộ Điện lực Thanh Sơn",
        OrganisationKind::BaseCell,
        Sector::Enterprise,
        &[],
    ),
    (
        "LN-CTY",
        "Chi bộ Công ty TNHH MTV Lâm nghiệp Thanh Sơn",
        OrganisationKind::BaseCell,
        Sector::Enterprise,
        &[],
    ),
];

pub(super) const SURNAMES: &[&str] = &[
    "Nguyễn", "Nguyễn", "Nguyễn", "Đinh", "Đinh", "Hà", "Hà", "Trần", "Lê", "Phạm", "Hoàng", "Bùi", "Xa", "Quách",
    "Vũ", "Đỗ", "Phùng", "Cao", "Lò", "Triệu",
];
pub(super) const MALE_MIDDLE: &[&str] = &[
    "Văn", "Văn", "Văn", "Đức", "Hữu", "Công", "Quang", "Minh", "Xuân", "Thanh",
];
pub(super) const FEMALE_MIDDLE: &[&str] = &["Thị", "Thị", "Thị", "Thu", "Thanh", "Ngọc", "Minh", "Hồng"];
pub(super) const MALE_GIVEN: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Đức", "Giang", "Hải", "Hùng", "Khánh", "Lâm", "Long", "Mạnh", "Nam", "Phúc",
    "Quân", "Sơn", "Thắng", "Trung", "Tuấn", "Việt", "Hưng", "Thành", "Tiến", "Toàn",
];
pub(super) const FEMALE_GIVEN: &[&str] = &[
    "Anh", "Ánh", "Chi", "Dung", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Ngân", "Nhung", "Phương",
    "Thảo", "Thủy", "Trang", "Vân", "Yến", "Huyền", "Loan",
];
pub(super) const EDUCATION: &[&str] = &["9/12", "12/12", "12/12", "12/12"];
pub(super) const QUALIFICATIONS: &[&str] = &[
    "Trung cấp Nông nghiệp",
    "Cao đẳng Sư phạm",
    "Cử nhân Luật",
    "Cử nhân Kinh tế",
    "Bác sĩ đa khoa",
    "Kỹ sư Lâm nghiệp",
];
